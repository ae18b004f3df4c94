/// One tensor of a GGUF file: its name, its shape in ggml order (ne[0] is the row length), its ggml type, and
/// where its bytes lie relative to the data section.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    /// ggml's ne[]: dimensions[0] is the number of columns; rows are the product of the others.
    public var dimensions: [Int]
    public var type: GGMLType
    /// Byte offset from the start of the data section.
    public var offset: Int

    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int = 0) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    public var columns: Int { dimensions.first ?? 1 }
    public var rows: Int { dimensions.dropFirst().reduce(1, *) }
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Bytes of one row (callers validated that columns is a whole number of blocks).
    public var rowBytes: Int { type.rowBytes(columns: columns) ?? 0 }
    public var byteCount: Int { rowBytes * rows }

    /// The most dimensions a ggml tensor has.
    public static let maxDimensions = 4

    /// Why these dimensions and type cannot make a tensor (too many dimensions, a negative or overflowing size,
    /// rows that are not whole blocks), or nil when they can. Sizes are checked with overflow-reporting arithmetic.
    public static func shapeProblem(dimensions: [Int], type: GGMLType) -> String? {
        guard (1...maxDimensions).contains(dimensions.count) else {
            return "\(dimensions.count) dimensions (ggml tensors have 1 to \(maxDimensions))"
        }
        guard dimensions.allSatisfy({ $0 >= 0 }) else { return "negative dimension in \(dimensions)" }
        // Rows on their own too: with a zero row length the element count cannot overflow but the row count can.
        var rows = 1
        for d in dimensions.dropFirst() {
            let (m, overflow) = rows.multipliedReportingOverflow(by: d)
            guard !overflow else { return "row count of \(dimensions) overflows" }
            rows = m
        }
        guard !rows.multipliedReportingOverflow(by: dimensions[0]).overflow else { return "element count of \(dimensions) overflows" }
        guard dimensions[0] % type.blockElements == 0 else {
            return "row length \(dimensions[0]) is not a multiple of \(type.rawValue)'s \(type.blockElements)-element block"
        }
        guard let rowBytes = type.rowBytes(columns: dimensions[0]) else { return "byte size of a row of \(dimensions[0]) overflows" }
        guard !rowBytes.multipliedReportingOverflow(by: rows).overflow else { return "byte size of \(dimensions) overflows" }
        return nil
    }
}
