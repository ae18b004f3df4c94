import KernelsAVX2

/// Q8_0: 32 weights, 8.5 bits each. x = d·q with q a signed byte and one f16 scale d.
///
/// Layout (block_q8_0 in llama.cpp's ggml-common.h), 34 bytes:
///
///     offset  size  field
///     0       2     d       f16 scale
///     2       32    qs      q[j], int8
public enum GGMLQ8_0: GGMLBlockCodec, GGMLPlainBlocks {
    public static let blockElements = 32
    public static let blockBytes = 34

    /// quantize_row_q8_0_ref: d = amax/127 and q = roundf(x/d). llama.cpp has no importance path for Q8_0.
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        GGMLF16.store(GGMLF16.encode(d), block)
        let qs = (block + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { qs[j] = Int8(truncatingIfNeeded: roundHalfAway(x[j] * id)) }
    }

    /// Blocks by `quantizeReference`, through the AVX2 loop where the CPU has it (KernelsAVX2's q8_0.c: byte for
    /// byte these).
    static func quantizePlainBlocks(_ x: UnsafePointer<Float>, blocks: Int, into out: UnsafeMutableRawPointer) {
        guard AVX2Kernels.available else {
            for b in 0..<blocks { quantizeReference(x + 32 * b, importance: nil, into: out + 34 * b) }
            return
        }
        uqcit_avx2_q8_0_quantize(x, blocks, out.assumingMemoryBound(to: UInt8.self))
    }

    /// llama.cpp's block with its scale refitted under an importance (GGMLScaleRefit), kept only where that lowers the weighted error; without one, llama.cpp's block.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        GGMLScaleRefit.quantizeSymmetric(Self.self, x, importance: importance, lo: -128, hi: 127, into: block) { d, q in
            GGMLF16.store(d, block)
            // q is the code plus 128: flipping the top bit gives the code's two's complement byte.
            for j in 0..<32 { block.storeBytes(of: q[j] ^ 0x80, toByteOffset: 2 + j, as: UInt8.self) }
        }
    }

    /// C's roundf (half away from zero) for |x| < 2^23 without a library call or a branch: the fraction left after
    /// truncation is exact, so comparing it with one half decides the way.
    @inline(__always)
    private static func roundHalfAway(_ x: Float) -> Int32 {
        let t = Int32(x)
        let fraction = x - Float(t)
        return t &+ (fraction >= 0.5 ? 1 : 0) &- (fraction <= -0.5 ? 1 : 0)
    }

    /// dequantize_row_q8_0: q·d.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block)
        for j in 0..<32 { y[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }
}

extension GGMLQ8_0: GGMLScaledBlockGrid {
    public static let gridLevels: [Float] = (-128...127).map(Float.init)
    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) {
        for j in 0..<32 { block.storeBytes(of: codes[j] ^ 0x80, toByteOffset: 2 + j, as: UInt8.self) }
    }
}
