import Foundation
import Engine
import Pipeline

/// Why a task result was refused: says which field is wrong and how, for the log line that names the peer.
public struct InvalidResult: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Checks a task's outcome against the spec the coordinator leased, before anything is journaled or applied:
/// a worker (or a journal record) is believed only about what that task may produce. Everything here is
/// arithmetic on values, so it is tested without sockets; `verifyStaged` is the one part that reads files.
public enum ResultValidator {
    /// Output files are at most this many bytes per element of work, plus a fixed allowance for headers: far
    /// above any format the steps write (fp16 high parts, scales, indices), far below a disk-filling lie.
    static let maxBytesPerElement = 8
    static let headerAllowance = 1 << 20

    /// Throws the first problem found; returns when `outcome` is a result `task` may have produced.
    public static func check(_ outcome: TaskOutcome, against task: TaskSpec) throws(InvalidResult) {
        guard outcome.taskId == task.id else { throw InvalidResult("the result names task '\(outcome.taskId)', the lease is for \(task.id)") }
        guard outcome.seconds.isFinite, outcome.seconds >= 0 else { throw InvalidResult("seconds is \(outcome.seconds)") }
        let parts: [(String, Bool)] = [("analysis", outcome.analysis != nil), ("tile", outcome.tile != nil),
                                       ("compensation", outcome.compensation != nil), ("measurements", outcome.measurements != nil),
                                       ("layer pass", outcome.layerPass != nil)]
        let required = switch task.kind {
        case .analyze: "analysis"; case .quantize: "tile"; case .compensate: "compensation"; case .measure: "measurements"
        case .capture, .propagate: "layer pass"
        }
        for (name, present) in parts {
            if name == required && !present { throw InvalidResult("\(task.kind.rawValue.uppercased()) result without its \(name)") }
            if name != required && present { throw InvalidResult("\(task.kind.rawValue.uppercased()) result carries a \(name)") }
        }
        switch task.kind {
        case .analyze:
            guard let spec = task.analyze, let a = outcome.analysis else { throw InvalidResult("task \(task.id) has no ANALYZE spec") }
            try checkAnalysis(a, spec)
        case .quantize:
            guard let spec = task.quantize, let t = outcome.tile else { throw InvalidResult("task \(task.id) has no QUANTIZE spec") }
            try checkTile(t, spec)
        case .compensate:
            guard let spec = task.compensate, let c = outcome.compensation else { throw InvalidResult("task \(task.id) has no COMPENSATE spec") }
            let e = spec.tensor.entry
            guard c.rank == min(spec.rank, e.rows, e.columns) else { throw InvalidResult("compensation rank \(c.rank), the task asked for \(spec.rank)") }
            try nonNegative(c.sourceSumSquares, "compensation.sourceSumSquares")
            try nonNegative(c.errorSumSquaresBefore, "compensation.errorSumSquaresBefore")
            try nonNegative(c.errorSumSquaresAfter, "compensation.errorSumSquaresAfter")
        case .measure:
            guard let spec = task.measure, let m = outcome.measurements else { throw InvalidResult("task \(task.id) has no MEASURE spec") }
            guard m.count == spec.candidates.count else { throw InvalidResult("\(m.count) measurements for \(spec.candidates.count) candidates") }
            let bound = spec.tensor.entry.elementCount * maxBytesPerElement + headerAllowance
            for (k, x) in m.enumerated() {
                guard x.policy == spec.candidates[k] else { throw InvalidResult("measurement \(k) is for a policy the task did not ask about") }
                guard x.bytes > 0 && x.bytes <= bound else { throw InvalidResult("measurement \(k) claims \(x.bytes) bytes") }
                try nonNegative(x.relativeError, "measurement \(k) relativeError")
            }
        case .capture, .propagate:
            guard let spec = task.layerPass, let r = outcome.layerPass else { throw InvalidResult("task \(task.id) has no layer pass spec") }
            guard r.tokens == spec.tokenCount else { throw InvalidResult("a layer pass over \(r.tokens) tokens, the shard holds \(spec.tokenCount)") }
        }
        try checkOutputNames(outcome.outputs, task)
    }

    static func checkAnalysis(_ a: AnalysisResult, _ spec: AnalyzeSpec) throws(InvalidResult) {
        let cols = spec.tensor.entry.columns
        if let problem = a.rotation.problem(columns: cols) { throw InvalidResult(LogText.escaped(problem)) }
        guard a.rotation.isIdentity || spec.rotation.enabled else { throw InvalidResult("a rotation the task did not ask for") }
        guard a.seedTrials.count <= max(1, spec.rotation.seedCandidates) else { throw InvalidResult("\(a.seedTrials.count) seed trials") }
        for t in a.seedTrials { try nonNegative(t.relativeError, "seedTrials relativeError") }
        try nonNegative(a.unrotatedError, "unrotatedError")
        if let i = a.invariants {
            try nonNegative(i.maxAbsGGPlusI, "invariants.maxAbsGGPlusI")
            try nonNegative(i.maxRowNormRelError, "invariants.maxRowNormRelError")
            try nonNegative(i.topSingularValueRelError, "invariants.topSingularValueRelError")
        }
        try fraction(a.plannedHighFraction, "plannedHighFraction")
        try fraction(a.realisedHighFraction, "realisedHighFraction")
        guard a.plannedHighFraction == spec.policy.highFraction else {
            throw InvalidResult("plannedHighFraction \(a.plannedHighFraction), the policy's is \(spec.policy.highFraction)")
        }
        try ascendingColumns(a.highColumns, columns: cols, "highColumns")
        var inCluster = [Bool](repeating: false, count: cols)
        for (k, c) in a.clusters.enumerated() {
            guard c.count >= 2 else { throw InvalidResult("cluster \(k) has \(c.count) column(s)") }
            try ascendingColumns(c, columns: cols, "cluster \(k)")
            for col in c {
                guard !inCluster[col] else { throw InvalidResult("column \(col) is in two clusters") }
                inCluster[col] = true
            }
        }
        guard a.promotedColumns >= 0 && a.promotedColumns <= a.highColumns.count else {
            throw InvalidResult("promotedColumns \(a.promotedColumns) with \(a.highColumns.count) high columns")
        }
        switch spec.granularity {
        case .channel:
            let planned = Int((spec.policy.highFraction * Double(cols)).rounded())
            guard a.highColumns.count == planned + a.promotedColumns else {
                throw InvalidResult("\(a.highColumns.count) high columns; the policy plans \(planned) plus \(a.promotedColumns) promoted")
            }
            guard a.elementThreshold == nil else { throw InvalidResult("an element threshold for channel granularity") }
        case .element:
            guard a.highColumns.isEmpty, a.promotedColumns == 0 else { throw InvalidResult("high columns for element granularity") }
            if let t = a.elementThreshold, t.isNaN || t < 0 { throw InvalidResult("element threshold \(t)") }
        }
    }

    static func checkTile(_ t: TileResult, _ spec: QuantizeSpec) throws(InvalidResult) {
        let e = spec.tensor.entry
        guard spec.rowStart >= 0, spec.rowCount >= 0, spec.rowStart + spec.rowCount <= e.rows else {
            throw InvalidResult("task rows \(spec.rowStart)+\(spec.rowCount) outside the tensor's \(e.rows)")
        }
        let elements = spec.rowCount * e.columns
        guard t.elements == elements else { throw InvalidResult("tile of \(t.elements) elements, the task's rows hold \(elements)") }
        guard t.highElements >= 0 && t.highElements <= elements else { throw InvalidResult("\(t.highElements) high elements of \(elements)") }
        try nonNegative(t.sourceSumSquares, "tile.sourceSumSquares")
        try nonNegative(t.errorSumSquares, "tile.errorSumSquares")
        try nonNegative(Double(t.maxAbsError), "tile.maxAbsError")
    }

    /// The files the task writes, by name, with the most bytes each may hold.
    public static func expectedOutputs(_ task: TaskSpec) -> [String: Int] {
        switch task.kind {
        case .analyze, .measure:
            return [:]
        case .quantize:
            let q = task.quantize
            let elements = (q?.rowCount ?? 0) * (q?.tensor.entry.columns ?? 0)
            return [StagingNames.tile(task.tensorIndex, task.tile ?? -1): elements * maxBytesPerElement + headerAllowance]
        case .compensate:
            let c = task.compensate, e = c?.tensor.entry
            let elements = (c?.rank ?? 0) * ((e?.rows ?? 0) + (e?.columns ?? 0))
            return [StagingNames.lowRank(task.tensorIndex): elements * maxBytesPerElement + headerAllowance]
        case .capture:
            guard let p = task.layerPass else { return [:] }
            return Dictionary(uniqueKeysWithValues: HessianSpace.allCases.map { space in
                let n = p.shape.columns(of: space)
                return (StagingNames.hessian(layer: p.layer, shard: p.shard, space: space), n * n * MemoryLayout<Double>.size + headerAllowance)
            })
        case .propagate:
            guard let p = task.layerPass else { return [:] }
            return [StagingNames.hidden(layer: p.layer + 1, shard: p.shard): p.tokenCount * p.shape.hiddenSize * MemoryLayout<Float>.size + headerAllowance]
        }
    }

    static func checkOutputNames(_ outputs: [TaskOutputFile], _ task: TaskSpec) throws(InvalidResult) {
        let expected = expectedOutputs(task)
        let names = outputs.map(\.name)
        guard Set(names) == Set(expected.keys), names.count == expected.count else {
            throw InvalidResult("outputs \(names.map { "'\(LogText.escaped($0))'" }) where the task writes \(expected.keys.sorted())")
        }
        for f in outputs {
            guard f.size > 0 && f.size <= expected[f.name]! else { throw InvalidResult("\(f.name) claims \(f.size) bytes") }
            guard isSHA256Hex(f.sha256) else { throw InvalidResult("\(f.name) has SHA-256 '\(LogText.escaped(f.sha256))', not 64 lowercase hex digits") }
        }
    }

    public static func isSHA256Hex(_ s: String) -> Bool {
        s.utf8.count == 64 && Digest.isLowercaseHex(s)
    }

    /// Each output is in `root` with the size and SHA-256 the result states; returns the bytes hashed.
    @discardableResult
    public static func verifyStaged(_ outputs: [TaskOutputFile], root: String) throws(InvalidResult) -> Int {
        var hashed = 0
        for f in outputs {
            let path = root + "/" + f.name
            let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
            guard size == f.size else {
                throw InvalidResult("reported \(f.name) of \(f.size) bytes, the staging folder holds \(size.map { "\($0) bytes" } ?? "no such file")")
            }
            guard let digest = try? Digest.sha256Hex(file: path) else { throw InvalidResult("cannot read \(path) to check its SHA-256") }
            guard digest == f.sha256 else { throw InvalidResult("\(f.name) has SHA-256 \(digest), the result states \(f.sha256)") }
            hashed += f.size
        }
        return hashed
    }

    private static func nonNegative(_ x: Double, _ what: String) throws(InvalidResult) {
        guard x.isFinite && x >= 0 else { throw InvalidResult("\(what) is \(x)") }
    }

    private static func fraction(_ x: Double, _ what: String) throws(InvalidResult) {
        guard x >= 0 && x <= 1 else { throw InvalidResult("\(what) is \(x), not in [0, 1]") }
    }

    private static func ascendingColumns(_ c: [Int], columns: Int, _ what: String) throws(InvalidResult) {
        var last = -1
        for x in c {
            guard x > last && x < columns else {
                throw InvalidResult("\(what) are not strictly ascending within [0, \(columns)): \(x) after \(last)")
            }
            last = x
        }
    }
}
