/// Q2_K: 2.625 bits per weight. A 256-weight super-block of sixteen 16-weight sub-blocks; weight e of sub-block
/// j = e / 16 is d * (scales[j] & 0xF) * q - dmin * (scales[j] >> 4), q in 0...3.
///
/// Layout (84 bytes, block_q2_K in ggml-common.h):
///   0  scales[16]  low nibble: the sub-block's scale, high nibble: its min
///   16 qs[64]      2-bit codes: weight e in byte (e / 128) * 32 + e % 32 at bit 2 * ((e % 128) / 32)
///   80 d           f16 super-block scale of the scales
///   82 dmin        f16 super-block scale of the mins
public enum GGMLQ2_K: GGMLBlockCodec, KQuantGrid {
    public static let blockElements = 256
    public static let blockBytes = 84
    static let subBlockSize = 16
    static let codeRange: ClosedRange<Int32> = 0...3
    static let scaleRange: ClosedRange<Int32> = 0...15
    static let minRange: ClosedRange<Int32> = 0...15

    static let scalesOffset = 0, codesOffset = 16, dOffset = 80, dminOffset = 82

    /// quantize_row_q2_K_ref without importance (absolute-error fits weighted by |x|, the sub-block scales and
    /// mins rounded against their maxima), quantize_row_q2_K_impl with it (squared-error fits weighted by
    /// importance * sqrt(sigma2 + x^2), the 4-bit scales and mins chosen by make_qp_quants).
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { bytes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 + 16 * 3) { floats in
                let codes = bytes.baseAddress!, scaleCodes = codes + 256, minCodes = codes + 272
                let weights = floats.baseAddress!, scales = weights + 256, mins = weights + 272, subBlockWeights = weights + 288
                let packed = block.assumingMemoryBound(to: UInt8.self)
                if let importance {
                    var sumX2: Float = 0
                    for e in 0..<256 { sumX2 += x[e] * x[e] }
                    let sigma2 = sumX2 / 256
                    for j in 0..<16 {
                        var sumW: Float = 0
                        for l in 0..<16 {
                            let v = x[16 * j + l]
                            weights[16 * j + l] = importance[16 * j + l] * (sigma2 + v * v).squareRoot()
                            sumW += weights[16 * j + l]
                        }
                        subBlockWeights[j] = sumW
                    }
                    for half in stride(from: 0, to: 256, by: 128) {
                        KQuantReferenceSearch.affineScales(16, nmax: 3, x + half, weights: weights + half, codes: codes + half,
                                                           scales: scales + half / 16, negatedMins: mins + half / 16,
                                                           rmin: -0.9, rdelta: 0.05, nstep: 36, absolute: false)
                    }
                    let dm = KQuantReferenceSearch.positiveScale(16, nmax: 15, scales, codes: scaleCodes, weights: subBlockWeights)
                    let mm = KQuantReferenceSearch.positiveScale(16, nmax: 15, mins, codes: minCodes, weights: subBlockWeights)
                    KQuantScales.storeF16(dm, block, at: dOffset)
                    KQuantScales.storeF16(mm, block, at: dminOffset)
                    for j in 0..<16 { packed[scalesOffset + j] = scaleCodes[j] | (minCodes[j] << 4) }
                } else {
                    for e in 0..<256 { weights[e] = abs(x[e]) }
                    for half in stride(from: 0, to: 256, by: 128) {
                        KQuantReferenceSearch.affineScales(16, nmax: 3, x + half, weights: weights + half, codes: codes + half,
                                                           scales: scales + half / 16, negatedMins: mins + half / 16,
                                                           rmin: -0.5, rdelta: 0.1, nstep: 15, absolute: true)
                    }
                    var maxScale: Float = 0, maxMin: Float = 0
                    for j in 0..<16 {
                        maxScale = max(maxScale, scales[j])
                        maxMin = max(maxMin, mins[j])
                    }
                    if maxScale > 0 {
                        let iscale = 15 / maxScale
                        for j in 0..<16 { packed[scalesOffset + j] = UInt8(truncatingIfNeeded: KQuantScales.nearestInt(iscale * scales[j])) }
                        KQuantScales.storeF16(maxScale / 15, block, at: dOffset)
                    } else {
                        for j in 0..<16 { packed[scalesOffset + j] = 0 }
                        KQuantScales.storeF16(0, block, at: dOffset)
                    }
                    if maxMin > 0 {
                        let iscale = 15 / maxMin
                        for j in 0..<16 { packed[scalesOffset + j] |= UInt8(truncatingIfNeeded: KQuantScales.nearestInt(iscale * mins[j]) << 4) }
                        KQuantScales.storeF16(maxMin / 15, block, at: dminOffset)
                    } else {
                        KQuantScales.storeF16(0, block, at: dminOffset)
                    }
                }
                requantizeCodes(x, block, codes)
                packCodes(block) { codes[$0] }
            }
        }
    }

    static func referenceWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) { absWeights(x, into: w) }

    /// dequantize_row_q2_K: dl = d * scale, ml = dmin * min, y = dl * q - ml, in that float order.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = KQuantScales.loadF16(block, at: dOffset), dmin = KQuantScales.loadF16(block, at: dminOffset)
        let scales = block.assumingMemoryBound(to: UInt8.self) + scalesOffset
        let qs = block.assumingMemoryBound(to: UInt8.self) + codesOffset
        for e in 0..<256 {
            let sc = scales[e >> 4]
            let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
            let q = (qs[codeByte(e)] >> codeShift(e)) & 3
            y[e] = dl * Float(q) - ml
        }
    }

    /// llama.cpp's last step: every code re-chosen as the nearest under the stored (quantized) scales and mins.
    static func requantizeCodes(_ x: UnsafePointer<Float>, _ block: UnsafeRawPointer, _ codes: UnsafeMutablePointer<UInt8>) {
        let d = KQuantScales.loadF16(block, at: dOffset), dmin = KQuantScales.loadF16(block, at: dminOffset)
        let scales = block.assumingMemoryBound(to: UInt8.self) + scalesOffset
        for j in 0..<16 {
            let dl = d * Float(scales[j] & 0xF)
            if dl == 0 { continue }
            let ml = dmin * Float(scales[j] >> 4)
            for l in 0..<16 {
                let q = KQuantScales.nearestInt((x[16 * j + l] + ml) / dl)
                codes[16 * j + l] = UInt8(truncatingIfNeeded: max(0, min(3, q)))
            }
        }
    }

    /// Writes the 2-bit code of every weight, `code(e)` in 0...3.
    @inline(__always)
    static func packCodes(_ block: UnsafeMutableRawPointer, _ code: (Int) -> UInt8) {
        let qs = block.assumingMemoryBound(to: UInt8.self) + codesOffset
        for b in 0..<64 { qs[b] = 0 }
        for e in 0..<256 { qs[codeByte(e)] |= code(e) << codeShift(e) }
    }

    static func unpack(_ block: UnsafeRawPointer, into v: inout KQuantBlockValues) {
        v.d = KQuantScales.loadF16(block, at: dOffset)
        v.dmin = KQuantScales.loadF16(block, at: dminOffset)
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            v.scales[j] = Float(bytes[scalesOffset + j] & 0xF)
            v.mins[j] = Float(bytes[scalesOffset + j] >> 4)
        }
        for e in 0..<256 { v.codes[e] = Float((bytes[codesOffset + codeByte(e)] >> codeShift(e)) & 3) }
    }

    static func pack(_ v: KQuantBlockValues, into block: UnsafeMutableRawPointer) {
        KQuantScales.storeF16(v.d, block, at: dOffset)
        KQuantScales.storeF16(v.dmin, block, at: dminOffset)
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 { bytes[scalesOffset + j] = UInt8(v.scales[j]) | (UInt8(v.mins[j]) << 4) }
        packCodes(block) { UInt8(v.codes[$0]) }
    }

    @inline(__always) static func codeByte(_ e: Int) -> Int { (e >> 7) * 32 + (e & 31) }
    @inline(__always) static func codeShift(_ e: Int) -> UInt8 { UInt8(2 * ((e & 127) >> 5)) }
}
