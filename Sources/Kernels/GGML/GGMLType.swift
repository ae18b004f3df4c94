/// The ggml tensor types this tool reads and writes, named and numbered as in llama.cpp's ggml.h. Each block
/// format is one unit (GGML*.swift): its layout, quantize and dequantize side by side, as ggml-quants.c keeps them.
public enum GGMLType: String, Codable, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    case q8_0 = "Q8_0", q4_0 = "Q4_0", q4_1 = "Q4_1", q5_0 = "Q5_0", q5_1 = "Q5_1"
    case q2_K = "Q2_K", q3_K = "Q3_K", q4_K = "Q4_K", q5_K = "Q5_K", q6_K = "Q6_K"
    case iq4_nl = "IQ4_NL", iq4_xs = "IQ4_XS"

    /// ggml's enum ggml_type value, as stored in a GGUF tensor info.
    public var ggmlID: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q5_0: 6
        case .q5_1: 7
        case .q8_0: 8
        case .q2_K: 10
        case .q3_K: 11
        case .q4_K: 12
        case .q5_K: 13
        case .q6_K: 14
        case .iq4_nl: 20
        case .iq4_xs: 23
        case .bf16: 30
        }
    }

    public init?(ggmlID: UInt32) {
        guard let t = Self.allCases.first(where: { $0.ggmlID == ggmlID }) else { return nil }
        self = t
    }

    /// The unit that holds this type's block layout, quantize and dequantize.
    public var codec: GGMLBlockCodec.Type {
        switch self {
        case .f32: GGMLF32.self
        case .f16: GGMLF16.self
        case .bf16: GGMLBF16.self
        case .q8_0: GGMLQ8_0.self
        case .q4_0: GGMLQ4_0.self
        case .q4_1: GGMLQ4_1.self
        case .q5_0: GGMLQ5_0.self
        case .q5_1: GGMLQ5_1.self
        case .q2_K: GGMLQ2_K.self
        case .q3_K: GGMLQ3_K.self
        case .q4_K: GGMLQ4_K.self
        case .q5_K: GGMLQ5_K.self
        case .q6_K: GGMLQ6_K.self
        case .iq4_nl: GGMLIQ4_NL.self
        case .iq4_xs: GGMLIQ4_XS.self
        }
    }

    /// Weights per block (1 for the float types, 32 for the legacy formats and IQ4_NL, 256 for k-quants and IQ4_XS).
    public var blockElements: Int { codec.blockElements }
    /// Bytes per block.
    public var blockBytes: Int { codec.blockBytes }
    public var isQuantized: Bool { blockElements > 1 }
    public var bitsPerWeight: Double { Double(blockBytes * 8) / Double(blockElements) }

    /// Bytes of one row of `columns` weights; nil when `columns` is not a whole number of blocks or the byte
    /// count overflows (a file's row length: wrapped, it passed the placement checks as a small or negative size).
    public func rowBytes(columns: Int) -> Int? {
        guard columns >= 0, columns % blockElements == 0 else { return nil }
        let (bytes, overflow) = (columns / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}

/// One ggml block format. Rows are whole numbers of blocks; callers check `GGMLType.rowBytes` first.
public protocol GGMLBlockCodec {
    static var blockElements: Int { get }
    static var blockBytes: Int { get }
    /// llama.cpp's own choice of codes for one block (`quantize_row_*_ref`, or its importance-weighted path when
    /// `importance` is given): the baseline our search is measured against.
    static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer)
    /// Our choice of codes and scales for one block inside the same grid: minimises the weighted squared error,
    /// weights from `importance` (per weight, e.g. per input column; nil: plain squared error).
    static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer)
    /// Exactly llama.cpp's dequantization of one block (bitwise equal to `gguf.quants.dequantize`).
    static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>)
}

/// Whole rows through a block codec.
public extension GGMLType {
    /// Quantizes `x` (a row of `columns` weights) into `out` (rowBytes bytes). `importance` has one weight per column.
    func quantizeRow(_ x: UnsafePointer<Float>, columns: Int, importance: UnsafePointer<Float>? = nil,
                     reference: Bool = false, into out: UnsafeMutableRawPointer) {
        let c = codec, n = c.blockElements, b = c.blockBytes
        // Without importance these formats' codes are llama.cpp's, reference or not (GGMLPlainBlocks).
        if importance == nil, let plain = c as? any GGMLPlainBlocks.Type { return plain.quantizePlainBlocks(x, blocks: columns / n, into: out) }
        if reference, let legacy = c as? any GGMLLegacyReference.Type {
            return legacy.quantizeReferenceRow(x, columns: columns, importance: importance, into: out)
        }
        for k in 0..<(columns / n) {
            let w = importance.map { $0 + k * n }
            if reference { c.quantizeReference(x + k * n, importance: w, into: out + k * b) }
            else { c.quantize(x + k * n, importance: w, into: out + k * b) }
        }
    }

    /// Dequantizes `rows` consecutive rows into `y` and returns where the first NaN or infinity among them is,
    /// or nil: what every read from a source does. BF16 (nearly every checkpoint) checks as it widens, in one pass.
    func dequantizeRowsFindingNonFinite(_ bytes: UnsafeRawPointer, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>) -> Int? {
        let n = rows * columns
        if self == .bf16 {
            guard GGMLBF16.widenFindingNonFinite(bytes, count: n, into: y) else { return nil }
        } else {
            let rowBytes = rowBytes(columns: columns)!
            for r in 0..<rows { dequantizeRow(bytes + r * rowBytes, columns: columns, into: y + r * columns) }
        }
        return NonFinite.firstIndex(UnsafeBufferPointer(start: y, count: n))
    }

    func dequantizeRow(_ bytes: UnsafeRawPointer, columns: Int, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .bf16: return GGMLBF16.dequantizeRow(bytes, count: columns, into: y)
        case .f16: return GGMLF16.dequantizeRow(bytes, count: columns, into: y)
        case .f32: return GGMLF32.dequantizeRow(bytes, count: columns, into: y)
        default: break
        }
        let c = codec, n = c.blockElements, b = c.blockBytes
        for k in 0..<(columns / n) { c.dequantize(bytes + k * b, into: y + k * n) }
    }
}
