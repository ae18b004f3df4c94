/// Q4_K: 4.5 bits per weight. A 256-weight super-block of eight 32-weight sub-blocks; weight e of sub-block
/// j = e / 32 is d * s_j * q - dmin * m_j, q in 0...15, s_j and m_j 6-bit.
///
/// Layout (144 bytes, block_q4_K in ggml-common.h):
///   0  d           f16 super-block scale of the scales
///   2  dmin        f16 super-block scale of the mins
///   4  scales[12]  eight 6-bit scales and eight 6-bit mins (KQuantScales.scaleMin)
///   16 qs[128]     4-bit codes: weight e in byte (e / 64) * 32 + e % 32, low nibble when (e / 32) is even
public enum GGMLQ4_K: GGMLBlockCodec, KQuantGrid {
    public static let blockElements = 256
    public static let blockBytes = 144
    static let subBlockSize = 32
    static let codeRange: ClosedRange<Int32> = 0...15
    static let scaleRange: ClosedRange<Int32> = 0...63
    static let minRange: ClosedRange<Int32> = 0...63

    static let codesOffset = 16

    /// quantize_row_q4_K_ref without importance, quantize_row_q4_K_impl with it
    /// (KQuantReferenceSearch.scaleMinBlock).
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { codes in
            KQuantReferenceSearch.scaleMinBlock(x, importance: importance, nmax: 15, rmin: -1, rdelta: 0.1, nstep: 20,
                                                into: block, codes: codes.baseAddress!)
            packCodes(block) { codes[$0] }
        }
    }

    static func referenceWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) { absPlusRMSWeights(x, into: w) }

    /// dequantize_row_q4_K: d1 = d * s, m1 = dmin * m, y = d1 * q - m1.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = KQuantScales.loadF16(block, at: 0), dmin = KQuantScales.loadF16(block, at: 2)
        let qs = block.assumingMemoryBound(to: UInt8.self) + codesOffset
        for j in 0..<8 {
            let (sc, m) = KQuantScales.scaleMin(j, block + 4)
            let dl = d * Float(sc), ml = dmin * Float(m)
            let bytes = qs + (j >> 1) * 32, shift = UInt8(4 * (j & 1))
            for l in 0..<32 { y[32 * j + l] = dl * Float((bytes[l] >> shift) & 0xF) - ml }
        }
    }

    /// Writes every weight's 4-bit code `code(e)`.
    @inline(__always)
    static func packCodes(_ block: UnsafeMutableRawPointer, _ code: (Int) -> UInt8) {
        let qs = block.assumingMemoryBound(to: UInt8.self) + codesOffset
        for b in 0..<128 { qs[b] = code(64 * (b >> 5) + (b & 31)) | (code(64 * (b >> 5) + (b & 31) + 32) << 4) }
    }

    static func unpack(_ block: UnsafeRawPointer, into v: inout KQuantBlockValues) {
        KQuantScales.unpackScaleMinHeader(block, into: &v)
        let qs = block.assumingMemoryBound(to: UInt8.self) + codesOffset
        for e in 0..<256 { v.codes[e] = Float((qs[(e >> 6) * 32 + (e & 31)] >> UInt8(4 * ((e >> 5) & 1))) & 0xF) }
    }

    static func pack(_ v: KQuantBlockValues, into block: UnsafeMutableRawPointer) {
        KQuantScales.packScaleMinHeader(v, into: block)
        packCodes(block) { UInt8(v.codes[$0]) }
    }
}
