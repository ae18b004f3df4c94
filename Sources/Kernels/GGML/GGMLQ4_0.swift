import KernelsAVX2

/// Q4_0: 32 weights, 4.5 bits each. x = d·(q - 8) with q in 0...15 and one f16 scale d.
///
/// Layout (block_q4_0 in llama.cpp's ggml-common.h), 18 bytes:
///
///     offset  size  field
///     0       2     d       f16 scale
///     2       16    qs      byte j: q[j] in the low nibble, q[j + 16] in the high nibble
public enum GGMLQ4_0: GGMLBlockCodec, GGMLLegacyReference {
    public static let blockElements = 32
    public static let blockBytes = 18

    /// llama.cpp's block with its scale refitted under an importance (GGMLScaleRefit), kept only where that lowers the weighted error; without one, llama.cpp's block.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        GGMLScaleRefit.quantizeSymmetric(Self.self, x, importance: importance, lo: -8, hi: 7, into: block) { d, q in
            GGMLF16.store(d, block)
            GGMLNibblePairs.store(q, block + 2)
        }
    }

    /// dequantize_row_q4_0: (q - 8)·d.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block)
        let qs = block + 2
        for j in 0..<16 {
            let byte = qs.load(fromByteOffset: j, as: UInt8.self)
            y[j] = Float(Int32(byte & 0x0F) - 8) * d
            y[j + 16] = Float(Int32(byte >> 4) - 8) * d
        }
    }

    /// llama.cpp's reference, from which GGMLLegacyReference builds quantizeReference and quantizeReferenceRow.
    /// Without importance quantize_row_q4_0_ref: the largest-magnitude weight maps to code 0 (value -8), the rest
    /// are truncated after adding 8.5. With importance quantize_row_q4_0_impl: make_qx_quants on the weights
    /// importance·sqrt(sigma2 + x²), where llama.cpp's sigma2 is the mean square of the whole row; one block
    /// alone has only its own mean square (`quantizeReferenceRow` gives the row's, as llama.cpp does).
    static func referencePlain(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0, max: Float = 0
        for j in 0..<32 where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
        let d = max / -8
        let id: Float = d != 0 ? 1 / d : 0
        GGMLF16.store(GGMLF16.encode(d), block)
        for j in 0..<16 {
            let q0 = Swift.min(15, Int32(x[j] * id + 8.5)), q1 = Swift.min(15, Int32(x[j + 16] * id + 8.5))
            block.storeBytes(of: UInt8(truncatingIfNeeded: q0 | q1 << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// The same blocks through the AVX2 loop where the CPU has it (KernelsAVX2's q4_0.c: byte for byte these).
    static func quantizePlainBlocks(_ x: UnsafePointer<Float>, blocks: Int, into out: UnsafeMutableRawPointer) {
        guard AVX2Kernels.available else { return referencePlainBlocks(x, blocks: blocks, into: out) }
        uqcit_avx2_q4_0_quantize(x, blocks, out.assumingMemoryBound(to: UInt8.self))
    }

    static func referenceWeighted(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, sigma2: Float,
                                          into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 160, alignment: 16) { raw in
            let weight = raw.baseAddress!.bindMemory(to: Float.self, capacity: 32)
            let L = (raw.baseAddress! + 128).bindMemory(to: UInt8.self, capacity: 32)
            GGMLReferenceSearch.importanceWeights(x, importance: importance, sigma2: sigma2, count: 32, into: weight)
            let d = GGMLReferenceSearch.symmetricScale(x, count: 32, nmax: 8, weights: weight, codes: L)
            GGMLF16.store(GGMLF16.encode(d), block)
            GGMLNibblePairs.store(L, block + 2)
        }
    }
}

extension GGMLQ4_0: GGMLScaledBlockGrid {
    public static let gridLevels: [Float] = (-8...7).map(Float.init)
    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) { GGMLNibblePairs.store(codes, block + 2) }
}
