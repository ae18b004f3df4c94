import Engine
import UQCITProtocol

/// AnalysisResult and the rotation it decided <-> their wire messages.
extension Uqcit_V2_RotationDescriptor {
    init(_ r: RotationDescriptor) {
        self.init()
        kind = r.kind; block = UInt64(r.block); seed = r.seed; size = UInt64(r.size)
    }
}

extension RotationDescriptor {
    /// Only the shape of the fields: whether the rotation fits the tensor is checked where the columns are known.
    init(wire w: Uqcit_V2_RotationDescriptor, field: String) throws(WireFormatError) {
        self.init(kind: try WireField.nonEmpty(w.kind, field + ".kind"), block: try WireField.int(w.block, field + ".block"),
                  seed: w.seed, size: try WireField.int(w.size, field + ".size"))
    }
}

extension Uqcit_V2_Analysis {
    init(_ a: AnalysisResult) {
        self.init()
        rotation = .init(a.rotation)
        if let i = a.invariants {
            invariants = .with {
                $0.maxAbsGgPlusI = i.maxAbsGGPlusI; $0.maxRowNormRelError = i.maxRowNormRelError
                $0.topSingularValueRelError = i.topSingularValueRelError
            }
        }
        seedTrials = a.seedTrials.map { t in .with { $0.seed = t.seed; $0.relativeError = t.relativeError } }
        unrotatedError = a.unrotatedError
        highColumns = a.highColumns.map { UInt64($0) }
        if let e = a.elementThreshold { elementThreshold = e }
        clusters = a.clusters.map { c in .with { $0.columns = c.map { UInt64($0) } } }
        promotedColumns = UInt64(a.promotedColumns)
        plannedHighFraction = a.plannedHighFraction
        realisedHighFraction = a.realisedHighFraction
    }
}

extension AnalysisResult {
    init(wire w: Uqcit_V2_Analysis, field: String) throws(WireFormatError) {
        let rotation = try WireField.required(w.hasRotation, w.rotation, field + ".rotation")
        var clusters: [[Int]] = []
        for (k, c) in w.clusters.enumerated() { clusters.append(try WireField.ints(c.columns, "\(field).clusters[\(k)].columns")) }
        self.init(rotation: try RotationDescriptor(wire: rotation, field: field + ".rotation"),
                  invariants: w.hasInvariants ? RotationInvariants(maxAbsGGPlusI: w.invariants.maxAbsGgPlusI,
                                                                   maxRowNormRelError: w.invariants.maxRowNormRelError,
                                                                   topSingularValueRelError: w.invariants.topSingularValueRelError) : nil,
                  seedTrials: w.seedTrials.map { SeedTrial(seed: $0.seed, relativeError: $0.relativeError) },
                  unrotatedError: w.unrotatedError,
                  highColumns: try WireField.ints(w.highColumns, field + ".high_columns"),
                  elementThreshold: w.hasElementThreshold ? w.elementThreshold : nil,
                  clusters: clusters,
                  promotedColumns: try WireField.int(w.promotedColumns, field + ".promoted_columns"),
                  plannedHighFraction: w.plannedHighFraction, realisedHighFraction: w.realisedHighFraction)
    }
}
