/// Q5_K: 5.5 bits per weight. A 256-weight super-block of eight 32-weight sub-blocks; weight e of sub-block
/// j = e / 32 is d * s_j * q - dmin * m_j, q in 0...31, s_j and m_j 6-bit.
///
/// Layout (176 bytes, block_q5_K in ggml-common.h):
///   0  d           f16 super-block scale of the scales
///   2  dmin        f16 super-block scale of the mins
///   4  scales[12]  eight 6-bit scales and eight 6-bit mins (KQuantScales.scaleMin)
///   16 qh[32]      high code bit of weight e in byte e % 32 at bit e / 32
///   48 qs[128]     low 4 code bits: weight e in byte (e / 64) * 32 + e % 32, low nibble when (e / 32) is even
public enum GGMLQ5_K: GGMLBlockCodec, KQuantGrid {
    public static let blockElements = 256
    public static let blockBytes = 176
    static let subBlockSize = 32
    static let codeRange: ClosedRange<Int32> = 0...31
    static let scaleRange: ClosedRange<Int32> = 0...63
    static let minRange: ClosedRange<Int32> = 0...63

    static let highBitsOffset = 16, lowBitsOffset = 48

    /// quantize_row_q5_K_ref without importance, quantize_row_q5_K_impl with it
    /// (KQuantReferenceSearch.scaleMinBlock).
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { codes in
            KQuantReferenceSearch.scaleMinBlock(x, importance: importance, nmax: 31, rmin: -0.5, rdelta: 0.1, nstep: 15,
                                                into: block, codes: codes.baseAddress!)
            packCodes(block) { codes[$0] }
        }
    }

    static func referenceWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) { absPlusRMSWeights(x, into: w) }

    /// dequantize_row_q5_K: d1 = d * s, m1 = dmin * m, y = d1 * q - m1.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = KQuantScales.loadF16(block, at: 0), dmin = KQuantScales.loadF16(block, at: 2)
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for j in 0..<8 {
            let (sc, m) = KQuantScales.scaleMin(j, block + 4)
            let dl = d * Float(sc), ml = dmin * Float(m)
            for e in (32 * j)..<(32 * j + 32) { y[e] = dl * Float(code(bytes, e)) - ml }
        }
    }

    @inline(__always)
    static func code(_ bytes: UnsafePointer<UInt8>, _ e: Int) -> UInt8 {
        let low = (bytes[lowBitsOffset + (e >> 6) * 32 + (e & 31)] >> UInt8(4 * ((e >> 5) & 1))) & 0xF
        return low | (((bytes[highBitsOffset + (e & 31)] >> UInt8(e >> 5)) & 1) << 4)
    }

    /// Writes every weight's 5-bit code `code(e)`.
    @inline(__always)
    static func packCodes(_ block: UnsafeMutableRawPointer, _ code: (Int) -> UInt8) {
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for b in 0..<160 { bytes[highBitsOffset + b] = 0 }
        for e in 0..<256 {
            let c = code(e)
            bytes[highBitsOffset + (e & 31)] |= (c >> 4) << UInt8(e >> 5)
            bytes[lowBitsOffset + (e >> 6) * 32 + (e & 31)] |= (c & 0xF) << UInt8(4 * ((e >> 5) & 1))
        }
    }

    static func unpack(_ block: UnsafeRawPointer, into v: inout KQuantBlockValues) {
        KQuantScales.unpackScaleMinHeader(block, into: &v)
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for e in 0..<256 { v.codes[e] = Float(code(bytes, e)) }
    }

    static func pack(_ v: KQuantBlockValues, into block: UnsafeMutableRawPointer) {
        KQuantScales.packScaleMinHeader(v, into: block)
        packCodes(block) { UInt8(v.codes[$0]) }
    }
}
