/// Q4_1: 32 weights, 5 bits each. x = d·q + m with q in 0...15, an f16 scale d and an f16 offset m.
///
/// Layout (block_q4_1 in llama.cpp's ggml-common.h), 20 bytes:
///
///     offset  size  field
///     0       2     d       f16 scale
///     2       2     m       f16 offset (the block minimum in the reference)
///     4       16    qs      byte j: q[j] in the low nibble, q[j + 16] in the high nibble
public enum GGMLQ4_1: GGMLBlockCodec, GGMLLegacyReference {
    public static let blockElements = 32
    public static let blockBytes = 20

    /// llama.cpp's block with its scale and offset refitted under an importance (GGMLScaleRefit), kept only where that lowers the weighted error; without one, llama.cpp's block.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        GGMLScaleRefit.quantizeAffine(Self.self, x, importance: importance, hi: 15, into: block) { d, m, q in
            store(d: d, m: m, codes: q, into: block)
        }
    }

    /// dequantize_row_q4_1: q·d + m (two roundings, no fused multiply-add).
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block), m = GGMLF16.load(block, at: 2)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = Float(byte & 0x0F) * d + m
            y[j + 16] = Float(byte >> 4) * d + m
        }
    }

    private static func store(d: UInt16, m: UInt16, codes q: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        GGMLF16.store(d, block)
        GGMLF16.store(m, block, at: 2)
        GGMLNibblePairs.store(q, block + 4)
    }

    /// llama.cpp's reference, from which GGMLLegacyReference builds quantizeReference and quantizeReferenceRow.
    /// Without importance quantize_row_q4_1_ref: m = min, d = (max - min)/15, codes truncated after adding 0.5.
    /// With importance quantize_row_q4_1_impl: make_qkx3_quants on the weights importance·sqrt(sigma2 + x²), where
    /// llama.cpp's sigma2 is the mean square of the whole row; one block alone has only its own mean square
    /// (`quantizeReferenceRow` gives the row's, as llama.cpp does).
    static func referencePlain(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < min { min = x[j] }
            if x[j] > max { max = x[j] }
        }
        let d = (max - min) / 15
        let id: Float = d != 0 ? 1 / d : 0
        GGMLF16.store(GGMLF16.encode(d), block)
        GGMLF16.store(GGMLF16.encode(min), block, at: 2)
        for j in 0..<16 {
            let q0 = Swift.min(15, Int32((x[j] - min) * id + 0.5)), q1 = Swift.min(15, Int32((x[j + 16] - min) * id + 0.5))
            block.storeBytes(of: UInt8(truncatingIfNeeded: q0 | q1 << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    static func referenceWeighted(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, sigma2: Float,
                                          into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 192, alignment: 16) { raw in
            let weight = raw.baseAddress!.bindMemory(to: Float.self, capacity: 32)
            let L = (raw.baseAddress! + 128).bindMemory(to: UInt8.self, capacity: 64)
            GGMLReferenceSearch.importanceWeights(x, importance: importance, sigma2: sigma2, count: 32, into: weight)
            let fit = GGMLReferenceSearch.affineScale(x, count: 32, nmax: 15, weights: weight, codes: L, scratch: L + 32,
                                                      rmin: -0.9, rdelta: 0.05, nstep: 36)
            store(d: GGMLF16.encode(fit.scale), m: GGMLF16.encode(fit.min), codes: L, into: block)
        }
    }
}

extension GGMLQ4_1: GGMLFixedGridCodec {
    public static let gridSubBlockSize = 32
    public static let gridLevels: [Float] = (0...15).map(Float.init)
    public static func gridMaps(_ block: UnsafeRawPointer, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) {
        a[0] = GGMLF16.load(block); b[0] = -GGMLF16.load(block, at: 2)
    }
    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) { GGMLNibblePairs.store(codes, block + 4) }
}
