/// F16: one IEEE binary16 (ggml_fp16_t) per weight, 2 bytes little-endian.
///
/// ggml converts with ggml_compute_fp32_to_fp16 / ggml_compute_fp16_to_fp32 (ggml-impl.h). For every non-NaN value
/// these are the IEEE conversions (round to nearest even, overflow to infinity, subnormals kept), which
/// `HalfPrecision` already does. NaNs differ: ggml narrows every NaN to the canonical quiet NaN 0x7E00 (sign kept),
/// and widens by a float multiply, which sets the quiet bit of a signalling NaN and keeps its payload.
/// The block formats store their f16 scales through these two functions as well.
public enum GGMLF16: GGMLBlockCodec {
    public static let blockElements = 1
    public static let blockBytes = 2

    /// ggml's GGML_FP32_TO_FP16.
    @inline(__always)
    public static func encode(_ x: Float) -> UInt16 {
        if x.isNaN { return UInt16(truncatingIfNeeded: x.bitPattern >> 16) & 0x8000 | 0x7E00 }
        return HalfPrecision.floatToF16(x)
    }

    /// ggml's GGML_FP16_TO_FP32.
    @inline(__always)
    public static func decode(_ bits: UInt16) -> Float {
        if bits & 0x7C00 == 0x7C00, bits & 0x03FF != 0 {
            return Float(bitPattern: UInt32(bits & 0x8000) << 16 | 0x7FC0_0000 | UInt32(bits & 0x03FF) << 13)
        }
        return HalfPrecision.f16ToFloat(bits)
    }

    /// Reads the f16 stored little-endian at `offset` (scales inside the block formats sit at unaligned offsets).
    @inline(__always)
    public static func load(_ block: UnsafeRawPointer, at offset: Int = 0) -> Float {
        decode(UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    static func store(_ bits: UInt16, _ block: UnsafeMutableRawPointer, at offset: Int = 0) {
        block.storeBytes(of: bits.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        store(encode(x.pointee), block)
    }

    /// Round to nearest is already the least error for one value under any weight: the same code as the reference.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        quantizeReference(x, importance: importance, into: block)
    }

    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        y.pointee = load(block)
    }

    /// A whole row at once: one-weight blocks through the codec's dynamic dispatch cost a call per weight.
    static func dequantizeRow(_ bytes: UnsafeRawPointer, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = load(bytes + 2 * i) }
    }
}
