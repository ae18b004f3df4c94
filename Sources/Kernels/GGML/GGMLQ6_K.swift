/// Q6_K: 6.5625 bits per weight. A 256-weight super-block of sixteen 16-weight sub-blocks; weight e of sub-block
/// j = e / 16 is d * s_j * q, q in -32...31, s_j a signed byte.
///
/// Layout (210 bytes, block_q6_K in ggml-common.h), with e = 128 n + 32 k + l (k in 0..<4, l in 0..<32):
///   0   ql[128]    low 4 code bits (code + 32) in byte 64 n + 32 (k % 2) + l, high nibble when k >= 2
///   128 qh[64]     high 2 code bits in byte 32 n + l at bit 2 k
///   192 scales[16] int8 sub-block scales
///   208 d          f16 super-block scale
public enum GGMLQ6_K: GGMLBlockCodec, KQuantGrid {
    public static let blockElements = 256
    public static let blockBytes = 210
    static let subBlockSize = 16
    static let codeRange: ClosedRange<Int32> = -32...31
    static let scaleRange: ClosedRange<Int32> = -128...127
    static let minRange: ClosedRange<Int32> = 0...0

    static let highBitsOffset = 128, scalesOffset = 192, dOffset = 208

    /// quantize_row_q6_K_ref without importance (x^2-weighted fits per sub-block), quantize_row_q6_K_impl with it
    /// (the same fits weighted by the importance itself); the scales are then rounded against the largest.
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { codeBuffer in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scaleBuffer in
                let codes = codeBuffer.baseAddress!, scales = scaleBuffer.baseAddress!
                for half in stride(from: 0, to: 256, by: 128) {
                    KQuantReferenceSearch.symmetricScales(16, nmax: 32, x + half, codes: codes + half, weights: importance.map { $0 + half },
                                                          scales: scales + half / 16)
                }
                var maxScale: Float = 0, maxAbsScale: Float = 0
                for j in 0..<16 where abs(scales[j]) > maxAbsScale { maxAbsScale = abs(scales[j]); maxScale = scales[j] }
                if maxAbsScale < KQuantReferenceSearch.groupMaxEps {
                    block.initializeMemory(as: UInt8.self, repeating: 0, count: blockBytes)
                    return
                }
                let iscale = -128 / maxScale
                let d = KQuantScales.storeF16(1 / iscale, block, at: dOffset)
                let scaleBytes = (block + scalesOffset).assumingMemoryBound(to: Int8.self)
                for j in 0..<16 { scaleBytes[j] = Int8(truncatingIfNeeded: min(127, KQuantScales.nearestInt(iscale * scales[j]))) }
                for j in 0..<16 {
                    let dl = d * Float(scaleBytes[j])
                    if dl == 0 { continue }
                    for l in 0..<16 {
                        let q = KQuantScales.nearestInt(x[16 * j + l] / dl)
                        codes[16 * j + l] = Int8(max(-32, min(31, q)) + 32)
                    }
                }
                packCodes(block) { UInt8(codes[$0]) }
            }
        }
    }

    static func referenceWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) { squareWeights(x, into: w) }

    /// dequantize_row_q6_K: y = d * s * q, multiplied in that order.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = KQuantScales.loadF16(block, at: dOffset)
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        let scales = (block + scalesOffset).assumingMemoryBound(to: Int8.self)
        for j in 0..<16 {
            let dl = d * Float(scales[j])
            for e in (16 * j)..<(16 * j + 16) { y[e] = dl * Float(code(bytes, e)) }
        }
    }

    /// The signed code -32...31 of weight e.
    @inline(__always)
    static func code(_ bytes: UnsafePointer<UInt8>, _ e: Int) -> Int32 {
        let n = e >> 7, k = (e >> 5) & 3, l = e & 31
        let low = (bytes[64 * n + 32 * (k & 1) + l] >> UInt8(4 * (k >> 1))) & 0xF
        let high = (bytes[highBitsOffset + 32 * n + l] >> UInt8(2 * k)) & 3
        return Int32(low | (high << 4)) - 32
    }

    /// Writes every weight's code, `code(e)` being the code plus 32 (0...63).
    @inline(__always)
    static func packCodes(_ block: UnsafeMutableRawPointer, _ code: (Int) -> UInt8) {
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for b in 0..<192 { bytes[b] = 0 }
        for e in 0..<256 {
            let n = e >> 7, k = (e >> 5) & 3, l = e & 31, c = code(e)
            bytes[64 * n + 32 * (k & 1) + l] |= (c & 0xF) << UInt8(4 * (k >> 1))
            bytes[highBitsOffset + 32 * n + l] |= (c >> 4) << UInt8(2 * k)
        }
    }

    static func unpack(_ block: UnsafeRawPointer, into v: inout KQuantBlockValues) {
        v.d = KQuantScales.loadF16(block, at: dOffset)
        v.dmin = 0
        let scales = (block + scalesOffset).assumingMemoryBound(to: Int8.self)
        for j in 0..<16 { v.scales[j] = Float(scales[j]); v.mins[j] = 0 }
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for e in 0..<256 { v.codes[e] = Float(code(bytes, e)) }
    }

    static func pack(_ v: KQuantBlockValues, into block: UnsafeMutableRawPointer) {
        KQuantScales.storeF16(v.d, block, at: dOffset)
        let scales = (block + scalesOffset).assumingMemoryBound(to: Int8.self)
        for j in 0..<16 { scales[j] = Int8(v.scales[j]) }
        packCodes(block) { UInt8(v.codes[$0] + 32) }
    }
}
