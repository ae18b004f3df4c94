/// The storage layout of one part of a quantized tensor (the high or low share of its columns).
public struct PartLayout: Codable, Sendable, Equatable {
    public var format: QuantFormat
    public var groupSize: Int
    public var columns: Int
    public var symmetric: Bool

    public init(format: QuantFormat, groupSize: Int, columns: Int, symmetric: Bool) {
        self.format = format
        self.groupSize = groupSize
        self.columns = columns
        self.symmetric = symmetric
    }
}

/// Everything needed to decode a quantized tensor's rows from its arrays, whatever rows a tile holds.
/// Stored in the package (weights.quant metadata) beside the arrays it describes.
public struct QuantizedTensorLayout: Codable, Sendable, Equatable {
    public var name: String
    public var rows: Int
    public var columns: Int
    public var sourceDType: DType
    public var granularity: Granularity
    public var rotation: RotationDescriptor
    /// Channel granularity: the gathered high columns (ascending, rotated basis) and their part.
    public var highColumns: [Int]
    public var high: PartLayout?
    public var low: PartLayout
    /// Element granularity: format of the sparse outliers (fp16 or int8 with one scale per row).
    public var sparseFormat: QuantFormat?
    public var compensationRank: Int
    /// The whole tensor as rows of ggml blocks of this type ("ggml.blocks"); `low` then only records the columns.
    public var ggml: GGMLType?
    /// Who chose the codes in those blocks (nil: our search).
    public var ggmlCodes: GGMLCodeChoice?

    public var halfIsBF16: Bool { sourceDType == .bf16 }

    /// A layout as stored or sent (the wire's QuantizedTensorLayout); `init(spec:)` derives one.
    public init(name: String, rows: Int, columns: Int, sourceDType: DType, granularity: Granularity, rotation: RotationDescriptor,
                highColumns: [Int], high: PartLayout?, low: PartLayout, sparseFormat: QuantFormat?, compensationRank: Int,
                ggml: GGMLType?, ggmlCodes: GGMLCodeChoice?) {
        self.name = name; self.rows = rows; self.columns = columns; self.sourceDType = sourceDType
        self.granularity = granularity; self.rotation = rotation; self.highColumns = highColumns
        self.high = high; self.low = low; self.sparseFormat = sparseFormat; self.compensationRank = compensationRank
        self.ggml = ggml; self.ggmlCodes = ggmlCodes
    }

    public init(spec: QuantizeSpec) {
        let t = spec.tensor.entry
        let p = spec.policy
        name = spec.tensor.name
        rows = t.rows
        columns = t.columns
        sourceDType = t.dtype
        granularity = spec.granularity
        rotation = spec.analysis.rotation
        compensationRank = p.compensationRank
        ggml = p.ggml
        ggmlCodes = p.ggmlCodes
        let lowSymmetric = p.symmetricLow ?? p.low.isSymmetric
        switch spec.granularity {
        case .channel:
            highColumns = spec.analysis.highColumns
            let nHigh = highColumns.count
            high = nHigh == 0 ? nil : PartLayout(format: p.high, groupSize: p.highGroupSize ?? p.high.defaultGroupSize, columns: nHigh, symmetric: p.high.isSymmetric)
            low = PartLayout(format: p.low, groupSize: p.lowGroupSize ?? p.low.defaultGroupSize, columns: columns - nHigh, symmetric: lowSymmetric)
            sparseFormat = nil
        case .element:
            highColumns = []
            high = nil
            low = PartLayout(format: p.low, groupSize: p.lowGroupSize ?? p.low.defaultGroupSize, columns: columns, symmetric: lowSymmetric)
            sparseFormat = p.high == .fp16 ? .fp16 : .int8
        }
    }

    /// The low part's columns: the complement of the high columns, ascending.
    public func lowColumns() -> [Int] {
        var isHigh = [Bool](repeating: false, count: columns)
        for c in highColumns { isHigh[c] = true }
        return (0..<columns).filter { !isHigh[$0] }
    }
}
