import Engine
import UQCITProtocol

/// LevelPolicy and the settings and enums it is made of <-> their wire messages.
extension Uqcit_V2_QuantFormat {
    init(_ f: QuantFormat) {
        self = switch f { case .fp16: .fp16; case .int8: .int8; case .int4: .int4; case .int3: .int3; case .int2: .int2 }
    }
}

extension QuantFormat {
    init(wire w: Uqcit_V2_QuantFormat, field: String) throws(WireFormatError) {
        switch w {
        case .fp16: self = .fp16
        case .int8: self = .int8
        case .int4: self = .int4
        case .int3: self = .int3
        case .int2: self = .int2
        case .unspecified, .UNRECOGNIZED: throw WireField.badEnum(w.rawValue, field)
        }
    }
}

extension Uqcit_V2_Granularity {
    init(_ g: Granularity) {
        self = switch g { case .channel: .channel; case .element: .element }
    }
}

extension Granularity {
    init(wire w: Uqcit_V2_Granularity, field: String) throws(WireFormatError) {
        switch w {
        case .channel: self = .channel
        case .element: self = .element
        case .unspecified, .UNRECOGNIZED: throw WireField.badEnum(w.rawValue, field)
        }
    }
}

extension Uqcit_V2_GgmlCodeChoice {
    init(_ c: GGMLCodeChoice) {
        self = switch c { case .reference: .reference; case .search: .search }
    }
}

extension GGMLCodeChoice {
    init(wire w: Uqcit_V2_GgmlCodeChoice, field: String) throws(WireFormatError) {
        switch w {
        case .reference: self = .reference
        case .search: self = .search
        case .unspecified, .UNRECOGNIZED: throw WireField.badEnum(w.rawValue, field)
        }
    }
}

extension GGMLType {
    /// The wire numbers a ggml type as ggml.h's enum ggml_type does.
    init(wire id: UInt32, field: String) throws(WireFormatError) {
        guard let t = GGMLType(ggmlID: id) else { throw WireFormatError(field, "unknown ggml_type \(id)") }
        self = t
    }
}

extension Uqcit_V2_LevelPolicy {
    init(_ p: LevelPolicy) {
        self.init()
        pattern = p.pattern; high = .init(p.high); low = .init(p.low); highFraction = p.highFraction
        compensationRank = UInt64(p.compensationRank)
        if let g = p.highGroupSize { highGroupSize = UInt64(g) }
        if let g = p.lowGroupSize { lowGroupSize = UInt64(g) }
        if let s = p.symmetricLow { symmetricLow = s }
        if let a = p.allocation { allocation = a }
        if let t = p.ggml { ggmlType = t.ggmlID }
        if let c = p.ggmlCodes { ggmlCodes = .init(c) }
    }
}

extension LevelPolicy {
    init(wire w: Uqcit_V2_LevelPolicy, field: String) throws(WireFormatError) {
        guard w.highFraction >= 0 && w.highFraction <= 1 else { throw WireFormatError(field + ".high_fraction", "\(w.highFraction) is outside 0...1") }
        self.init(pattern: try WireField.nonEmpty(w.pattern, field + ".pattern"),
                  high: try QuantFormat(wire: w.high, field: field + ".high"),
                  low: try QuantFormat(wire: w.low, field: field + ".low"),
                  highFraction: w.highFraction,
                  highGroupSize: w.hasHighGroupSize ? try WireField.int(w.highGroupSize, field + ".high_group_size") : nil,
                  lowGroupSize: w.hasLowGroupSize ? try WireField.int(w.lowGroupSize, field + ".low_group_size") : nil,
                  compensationRank: try WireField.int(w.compensationRank, field + ".compensation_rank"),
                  symmetricLow: w.hasSymmetricLow ? w.symmetricLow : nil,
                  allocation: w.hasAllocation ? w.allocation : nil,
                  ggml: w.hasGgmlType ? try GGMLType(wire: w.ggmlType, field: field + ".ggml_type") : nil)
        ggmlCodes = w.hasGgmlCodes ? try GGMLCodeChoice(wire: w.ggmlCodes, field: field + ".ggml_codes") : nil
    }
}

extension Uqcit_V2_RotationSettings {
    init(_ r: RotationSettings) {
        self.init()
        enabled = r.enabled; seedCandidates = UInt64(r.seedCandidates); sampleRows = UInt64(r.sampleRows)
    }
}

extension RotationSettings {
    init(wire w: Uqcit_V2_RotationSettings, field: String) throws(WireFormatError) {
        self.init(enabled: w.enabled, seedCandidates: try WireField.int(w.seedCandidates, field + ".seed_candidates"),
                  sampleRows: try WireField.int(w.sampleRows, field + ".sample_rows"))
    }
}

extension Uqcit_V2_ClusterSettings {
    init(_ c: ClusterSettings) {
        self.init()
        enabled = c.enabled; threshold = c.threshold; sampleRows = UInt64(c.sampleRows)
    }
}

extension ClusterSettings {
    init(wire w: Uqcit_V2_ClusterSettings, field: String) throws(WireFormatError) {
        guard w.threshold.isFinite else { throw WireFormatError(field + ".threshold", "\(w.threshold) is not finite") }
        self.init(enabled: w.enabled, threshold: w.threshold, sampleRows: try WireField.int(w.sampleRows, field + ".sample_rows"))
    }
}
