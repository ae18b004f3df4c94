import KernelsAVX2

/// BF16: one bfloat16 (the top half of a binary32) per weight, 2 bytes little-endian.
///
/// ggml_compute_fp32_to_bf16 rounds to nearest even and turns a NaN into the top half with the quiet bit forced;
/// widening is a shift. `HalfPrecision`'s conversions are exactly these.
public enum GGMLBF16: GGMLBlockCodec {
    public static let blockElements = 1
    public static let blockBytes = 2

    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        block.storeBytes(of: HalfPrecision.floatToBF16(x.pointee).littleEndian, as: UInt16.self)
    }

    /// Round to nearest is already the least error for one value under any weight: the same code as the reference.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        quantizeReference(x, importance: importance, into: block)
    }

    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        y.pointee = HalfPrecision.bf16ToFloat(UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
    }

    /// `dequantizeRow` with the non-finite check folded in where the CPU has AVX2 (KernelsAVX2's bf16.c): false
    /// when every value is finite; true when one may not be (always without AVX2: NonFinite then looks).
    static func widenFindingNonFinite(_ bytes: UnsafeRawPointer, count: Int, into y: UnsafeMutablePointer<Float>) -> Bool {
        guard AVX2Kernels.available else {
            dequantizeRow(bytes, count: count, into: y)
            return true
        }
        return uqcit_avx2_bf16_widen(bytes.assumingMemoryBound(to: UInt16.self), count, y) != 0
    }

    /// A whole row at once: one-weight blocks through the codec's dynamic dispatch cost a call per weight. The
    /// shift is written out (HalfPrecision.bf16ToFloat's) so that the loop widens as whole vectors in builds that
    /// do not inline across files.
    static func dequantizeRow(_ bytes: UnsafeRawPointer, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
    }
}
