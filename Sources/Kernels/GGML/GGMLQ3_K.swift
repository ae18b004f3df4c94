/// Q3_K: 3.4375 bits per weight. A 256-weight super-block of sixteen 16-weight sub-blocks; weight e of sub-block
/// j = e / 16 is d * (s_j - 32) * q, q in -4...3, s_j a 6-bit scale.
///
/// Layout (110 bytes, block_q3_K in ggml-common.h):
///   0   hmask[32]  high code bit of weight e in byte e % 32 at bit e / 32; set means q = low bits, clear q - 4
///   32  qs[64]     low 2 code bits: weight e in byte (e / 128) * 32 + e % 32 at bit 2 * ((e % 128) / 32)
///   96  scales[12] sixteen 6-bit scales (KQuantScales.q3Scale)
///   108 d          f16 super-block scale
public enum GGMLQ3_K: GGMLBlockCodec, KQuantGrid {
    public static let blockElements = 256
    public static let blockBytes = 110
    static let subBlockSize = 16
    static let codeRange: ClosedRange<Int32> = -4...3
    static let scaleRange: ClosedRange<Int32> = -32...31
    static let minRange: ClosedRange<Int32> = 0...0

    static let highBitsOffset = 0, lowBitsOffset = 32, scalesOffset = 96, dOffset = 108

    /// quantize_row_q3_K_ref without importance (x^2-weighted fits per sub-block, the scales rounded against the
    /// largest), quantize_row_q3_K_impl with it (fits weighted by importance * sqrt(sigma2 + x^2), the scales
    /// themselves fitted by make_qx_quants weighted by each sub-block's total weight).
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 + 16) { bytes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 + 16 * 2) { floats in
                let codes = bytes.baseAddress!, scaleCodes = codes + 256
                let weights = floats.baseAddress!, scales = weights + 256, subBlockWeights = weights + 272
                let scaleBytes = block + scalesOffset
                if let importance {
                    var sumX2: Float = 0
                    for e in 0..<256 { sumX2 += x[e] * x[e] }
                    let sigma2 = 2 * sumX2 / 256
                    for j in 0..<16 {
                        var sumW: Float = 0
                        for l in 0..<16 {
                            let v = x[16 * j + l]
                            weights[16 * j + l] = importance[16 * j + l] * (sigma2 + v * v).squareRoot()
                        }
                        for l in 0..<16 { sumW += weights[16 * j + l] }
                        subBlockWeights[j] = sumW
                    }
                    for half in stride(from: 0, to: 256, by: 128) {
                        KQuantReferenceSearch.symmetricScales(16, nmax: 4, x + half, codes: codes + half, weights: weights + half,
                                                              scales: scales + half / 16)
                    }
                    let d = KQuantReferenceSearch.symmetricScale(16, nmax: 32, scales, codes: scaleCodes, weights: subBlockWeights)
                    scaleCodes.withMemoryRebound(to: UInt8.self, capacity: 16) { KQuantScales.packQ3Scales($0, into: scaleBytes) }
                    KQuantScales.storeF16(d, block, at: dOffset)
                } else {
                    var maxScale: Float = 0, amax: Float = 0
                    for j in 0..<16 {
                        scales[j] = subBlockScale(x + 16 * j, codes: codes + 16 * j)
                        if abs(scales[j]) > amax { amax = abs(scales[j]); maxScale = scales[j] }
                    }
                    if maxScale != 0 {
                        let iscale = -32 / maxScale
                        for j in 0..<16 {
                            let l = Int8(truncatingIfNeeded: KQuantScales.nearestInt(iscale * scales[j]))
                            scaleCodes[j] = max(-32, min(31, l)) + 32
                        }
                        scaleCodes.withMemoryRebound(to: UInt8.self, capacity: 16) { KQuantScales.packQ3Scales($0, into: scaleBytes) }
                        KQuantScales.storeF16(1 / iscale, block, at: dOffset)
                    } else {
                        for b in 0..<12 { scaleBytes.storeBytes(of: 0, toByteOffset: b, as: UInt8.self) }
                        KQuantScales.storeF16(0, block, at: dOffset)
                    }
                }
                let d = KQuantScales.loadF16(block, at: dOffset)
                for j in 0..<16 {
                    let dl = d * Float(Int32(KQuantScales.q3Scale(j, scaleBytes)) - 32)
                    if dl == 0 { continue }
                    for l in 0..<16 {
                        let q = KQuantScales.nearestInt(x[16 * j + l] / dl)
                        codes[16 * j + l] = Int8(max(-4, min(3, q)) + 4)
                    }
                }
                packCodes(block) { UInt8(codes[$0]) }
            }
        }
    }

    static func referenceWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) { squareWeights(x, into: w) }

    /// dequantize_row_q3_K: dl = d * (s - 32), y = dl * q.
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = KQuantScales.loadF16(block, at: dOffset)
        let scaleBytes = block + scalesOffset
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let dl = d * Float(Int32(KQuantScales.q3Scale(j, scaleBytes)) - 32)
            for e in (16 * j)..<(16 * j + 16) { y[e] = dl * Float(code(bytes, e)) }
        }
    }

    /// make_q3_quants with do_rmse: codes -nmax..<nmax for one sub-block from -nmax / max, then moved one at a
    /// time while the x^2-weighted least-squares fit improves. Codes are stored plus 4; returns the scale.
    static func subBlockScale(_ x: UnsafePointer<Float>, codes: UnsafeMutablePointer<Int8>) -> Float {
        let nmax: Int32 = 4
        var max: Float = 0, amax: Float = 0
        for i in 0..<16 where abs(x[i]) > amax { amax = abs(x[i]); max = x[i] }
        if amax < KQuantReferenceSearch.groupMaxEps {
            for i in 0..<16 { codes[i] = 0 }
            return 0
        }
        let iscale = -Float(nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<16 {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, KQuantScales.nearestInt(iscale * x[i])))
            codes[i] = Int8(l)
            let w = x[i] * x[i], lf = Float(l)
            sumlx += w * x[i] * lf
            suml2 += w * lf * lf
        }
        for _ in 0..<5 {
            var changed = false
            for i in 0..<16 {
                let w = x[i] * x[i], li = Float(codes[i])
                var slx = sumlx - w * x[i] * li
                guard slx > 0 else { continue }
                var sl2 = suml2 - w * li * li
                let newL = Swift.max(-nmax, Swift.min(nmax - 1, KQuantScales.nearestInt(x[i] * sl2 / slx)))
                if newL != Int32(codes[i]) {
                    let nf = Float(newL)
                    slx += w * x[i] * nf
                    sl2 += w * nf * nf
                    if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        codes[i] = Int8(newL)
                        sumlx = slx; suml2 = sl2
                        changed = true
                    }
                }
            }
            if !changed { break }
        }
        for i in 0..<16 { codes[i] += Int8(nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// The signed code -4...3 of weight e.
    @inline(__always)
    static func code(_ bytes: UnsafePointer<UInt8>, _ e: Int) -> Int32 {
        let low = Int32((bytes[lowBitsOffset + (e >> 7) * 32 + (e & 31)] >> UInt8(2 * ((e & 127) >> 5))) & 3)
        return bytes[highBitsOffset + (e & 31)] & (1 << UInt8(e >> 5)) != 0 ? low : low - 4
    }

    /// Writes every weight's code, `code(e)` being the code plus 4 (0...7).
    @inline(__always)
    static func packCodes(_ block: UnsafeMutableRawPointer, _ code: (Int) -> UInt8) {
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for b in 0..<96 { bytes[b] = 0 }
        for e in 0..<256 {
            let c = code(e)
            if c > 3 { bytes[highBitsOffset + (e & 31)] |= 1 << UInt8(e >> 5) }
            bytes[lowBitsOffset + (e >> 7) * 32 + (e & 31)] |= (c & 3) << UInt8(2 * ((e & 127) >> 5))
        }
    }

    static func unpack(_ block: UnsafeRawPointer, into v: inout KQuantBlockValues) {
        v.d = KQuantScales.loadF16(block, at: dOffset)
        v.dmin = 0
        for j in 0..<16 {
            v.scales[j] = Float(Int32(KQuantScales.q3Scale(j, block + scalesOffset)) - 32)
            v.mins[j] = 0
        }
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        for e in 0..<256 { v.codes[e] = Float(code(bytes, e)) }
    }

    static func pack(_ v: KQuantBlockValues, into block: UnsafeMutableRawPointer) {
        KQuantScales.storeF16(v.d, block, at: dOffset)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { scales in
            for j in 0..<16 { scales[j] = UInt8(v.scales[j] + 32) }
            KQuantScales.packQ3Scales(scales.baseAddress!, into: block + scalesOffset)
        }
        packCodes(block) { UInt8(v.codes[$0] + 4) }
    }
}
