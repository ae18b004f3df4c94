/// Safetensors element types. Every dtype the format defines is recognised (so a checkpoint with an I64 buffer
/// still opens and passes through); only F32, F16 and BF16 can be read as numbers and compressed.
public enum DType: String, Codable, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", i64 = "I64", u64 = "U64", f64 = "F64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .i64, .u64, .f64: return 8
        }
    }

    /// Whether the engine can decode this dtype into Float and compress it.
    public var isSupportedFloat: Bool { floatType != nil }

    /// The ggml type with this dtype's little-endian layout (F32, F16, BF16), nil for the others.
    public var floatType: GGMLType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        default: nil
        }
    }

    /// Integer and boolean buffers (position ids, masks) are not weights: they pass through as stored.
    public var isIntegerOrBool: Bool { [.bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64].contains(self) }
}
