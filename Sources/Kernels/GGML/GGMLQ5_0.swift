/// Q5_0: 32 weights, 5.5 bits each. x = d·(q - 16) with q in 0...31 and one f16 scale d.
///
/// Layout (block_q5_0 in llama.cpp's ggml-common.h), 22 bytes:
///
///     offset  size  field
///     0       2     d       f16 scale
///     2       4     qh      little-endian uint32: bit j is bit 4 of q[j]
///     6       16    qs      byte j: low 4 bits of q[j] in the low nibble, of q[j + 16] in the high nibble
public enum GGMLQ5_0: GGMLBlockCodec, GGMLLegacyReference {
    public static let blockElements = 32
    public static let blockBytes = 22

    /// llama.cpp's block with its scale refitted under an importance (GGMLScaleRefit), kept only where that lowers the weighted error; without one, llama.cpp's block.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        GGMLScaleRefit.quantizeSymmetric(Self.self, x, importance: importance, lo: -16, hi: 15, into: block) { d, q in
            store(d: d, codes: q, into: block)
        }
    }

    /// dequantize_row_q5_0: (q - 16)·d.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block)
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let byte = UInt32(block.load(fromByteOffset: 6 + j, as: UInt8.self))
            let high0 = (qh >> UInt32(j)) << 4 & 0x10, high1 = qh >> UInt32(j + 12) & 0x10
            y[j] = Float(Int32(byte & 0x0F | high0) - 16) * d
            y[j + 16] = Float(Int32(byte >> 4 | high1) - 16) * d
        }
    }

    /// Writes scale bits and 32 codes in 0...31 in the block layout.
    static func store(d: UInt16, codes q: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        GGMLF16.store(d, block)
        var qh: UInt32 = 0
        GGMLNibblePairs.store(q, block + 6)
        for j in 0..<16 { qh |= UInt32(q[j] >> 4) << UInt32(j) | UInt32(q[j + 16] >> 4) << UInt32(j + 16) }
        block.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    /// llama.cpp's reference, from which GGMLLegacyReference builds quantizeReference and quantizeReferenceRow.
    /// Without importance quantize_row_q5_0_ref: the largest-magnitude weight maps to code 0 (value -16), the rest
    /// are truncated after adding 16.5. With importance quantize_row_q5_0_impl: make_qx_quants on the weights
    /// importance·sqrt(sigma2 + x²), where llama.cpp's sigma2 is the mean square of the whole row; one block
    /// alone has only its own mean square (`quantizeReferenceRow` gives the row's, as llama.cpp does).
    static func referencePlain(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0, max: Float = 0
        for j in 0..<32 where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
        let d = max / -16
        let id: Float = d != 0 ? 1 / d : 0
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { q in
            for j in 0..<32 { q[j] = UInt8(truncatingIfNeeded: Swift.min(31, Int32(x[j] * id + 16.5))) }
            store(d: GGMLF16.encode(d), codes: q.baseAddress!, into: block)
        }
    }

    static func referenceWeighted(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, sigma2: Float,
                                          into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 160, alignment: 16) { raw in
            let weight = raw.baseAddress!.bindMemory(to: Float.self, capacity: 32)
            let L = (raw.baseAddress! + 128).bindMemory(to: UInt8.self, capacity: 32)
            GGMLReferenceSearch.importanceWeights(x, importance: importance, sigma2: sigma2, count: 32, into: weight)
            let d = GGMLReferenceSearch.symmetricScale(x, count: 32, nmax: 16, weights: weight, codes: L)
            store(d: GGMLF16.encode(d), codes: L, into: block)
        }
    }
}

extension GGMLQ5_0: GGMLScaledBlockGrid {
    public static let gridLevels: [Float] = (-16...15).map(Float.init)
    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) {
        store(d: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)), codes: codes, into: block)
    }
}
