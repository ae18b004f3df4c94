/// IQ4_NL: 32 weights, 4.5 bits each. x = d·kvalues[q] with q in 0...15 indexing a fixed non-uniform table of
/// 16 levels (kvalues_iq4nl) and one f16 scale d.
///
/// Layout (block_iq4_nl in llama.cpp's ggml-common.h), 18 bytes:
///
///     offset  size  field
///     0       2     d       f16 scale
///     2       16    qs      byte j: q[j] in the low nibble, q[j + 16] in the high nibble
public enum GGMLIQ4_NL: GGMLBlockCodec {
    public static let blockElements = 32
    public static let blockBytes = 18

    /// kvalues_iq4nl, ascending.
    public static let levelValues: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// The same table at a fixed address, for the inner loops.
    nonisolated(unsafe) static let levels: UnsafePointer<Int8> = {
        let table = UnsafeMutablePointer<Int8>.allocate(capacity: 16)
        table.initialize(from: levelValues, count: 16)
        return UnsafePointer(table)
    }()

    /// llama.cpp's quantize_iq4_nl, which llama-quantize calls with or without importance: quantize_row_iq4_nl_impl
    /// with its ntry = 7 search, weights x² without importance and importance·sqrt(sigma2 + x²) with it (sigma2
    /// from the block itself, so one block is all it needs). (quantize_row_iq4_nl_ref, ntry = -1, skips the search;
    /// llama.cpp does not write files with it.)
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { codes in
            let L = codes.baseAddress!
            let d = referenceCodes(x, superBlock: 32, importance: importance, codes: L, subBlockScales: nil)
            GGMLF16.store(d, block)
            GGMLNibblePairs.store(L, block + 2)
        }
    }

    /// The scale from the grid sweep of 1/d over nearest-level codes (the largest weight 50 to 200 level units from
    /// zero, both signs of d), stored in f16 the best way; kept only where it beats the reference.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        GGMLScaleSearch.withBlockScratch { s in
            quantizeReference(x, importance: importance, into: s.reference)
            GGMLScaleSearch.fillWeights(importance, count: 32, into: s.weights)
            let d = GGMLScaleSearch.levelScale(x, weights: s.weights, count: 32, levels: levels, levelCount: 16, tLow: 50, tHigh: 200,
                                               scratch: s.sweep)
            let bits = GGMLScaleSearch.finishLevels(x, weights: s.weights, count: 32, levels: levels, levelCount: 16, scale: d,
                                                    codes: s.codes, scratch: s.trial)
            GGMLF16.store(bits, block)
            for j in 0..<16 {
                let byte = UInt8(truncatingIfNeeded: s.codes[j]) | UInt8(truncatingIfNeeded: s.codes[j + 16]) << 4
                block.storeBytes(of: byte, toByteOffset: 2 + j, as: UInt8.self)
            }
            GGMLScaleSearch.keepBetter(Self.self, x, weights: s.weights, block: block, reference: s.reference, scratch: s.values)
        }
    }

    /// dequantize_row_iq4_nl: d·kvalues[q].
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = d * Float(levels[Int(byte & 0x0F)])
            y[j + 16] = d * Float(levels[Int(byte >> 4)])
        }
    }

    /// quantize_row_iq4_nl_impl (16 levels, ntry 7) over a super-block of `superBlock` weights in sub-blocks of 32:
    /// per sub-block the scale of the largest weight at ±127 refitted by least squares, then fifteen inverse scales
    /// (itry - 127)/max, each fitted likewise. One sub-block (IQ4_NL): its scale in f16, codes from it. Several
    /// (IQ4_XS): a super-scale d = -max/32 with 6-bit sub-block scales round(scale/d) in -32...31, stored offset by
    /// 32 in `subBlockScales`, and codes from d·scale. Returns the f16 bits of the (super-)scale.
    static func referenceCodes(_ x: UnsafePointer<Float>, superBlock: Int, importance: UnsafePointer<Float>?,
                               codes L: UnsafeMutablePointer<UInt8>, subBlockScales: UnsafeMutablePointer<UInt8>?) -> UInt16 {
        let subBlocks = superBlock / 32
        var sigma2: Float = 0
        for j in 0..<superBlock { sigma2 += x[j] * x[j] }
        sigma2 *= 2 / Float(superBlock)
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 40) { buffer in
            let weight = buffer.baseAddress!, scales = weight + 32
            var maxScale: Float = 0, amaxScale: Float = 0
            for ib in 0..<subBlocks {
                let xb = x + 32 * ib, Lb = L + 32 * ib
                if let importance {
                    GGMLReferenceSearch.importanceWeights(xb, importance: importance + 32 * ib, sigma2: sigma2, count: 32, into: weight)
                } else {
                    for j in 0..<32 { weight[j] = xb[j] * xb[j] }
                }
                var amax: Float = 0, max: Float = 0
                for j in 0..<32 where abs(xb[j]) > amax { amax = abs(xb[j]); max = xb[j] }
                if amax < 1e-15 {
                    scales[ib] = 0
                    Lb.update(repeating: 0, count: 32)
                    continue
                }
                var d = -max / Float(levels[0])
                var id = 1 / d
                var sumqx: Float = 0, sumq2: Float = 0
                for j in 0..<32 {
                    let l = GGMLReferenceSearch.nearestLevel(levels, count: 16, id * xb[j])
                    Lb[j] = UInt8(l)
                    let q = Float(levels[l])
                    sumqx += weight[j] * q * xb[j]
                    sumq2 += weight[j] * q * q
                }
                d = sumq2 > 0 ? sumqx / sumq2 : 0
                var best = d * sumqx
                for itry in -7...7 {
                    id = Float(itry + Int(levels[0])) / max
                    sumqx = 0; sumq2 = 0
                    for j in 0..<32 {
                        let q = Float(levels[GGMLReferenceSearch.nearestLevel(levels, count: 16, id * xb[j])])
                        sumqx += weight[j] * q * xb[j]
                        sumq2 += weight[j] * q * q
                    }
                    if sumq2 > 0, sumqx * sumqx > best * sumq2 {
                        d = sumqx / sumq2
                        best = d * sumqx
                    }
                }
                scales[ib] = d
                if abs(d) > amaxScale { amaxScale = abs(d); maxScale = d }
            }
            guard subBlocks > 1, let subBlockScales else {
                let id: Float = scales[0] != 0 ? 1 / scales[0] : 0
                for j in 0..<32 { L[j] = UInt8(GGMLReferenceSearch.nearestLevel(levels, count: 16, id * x[j])) }
                return GGMLF16.encode(scales[0])
            }
            let d = -maxScale / 32
            let id: Float = d != 0 ? 1 / d : 0
            for ib in 0..<subBlocks {
                let l = Swift.max(-32, Swift.min(31, GGMLReferenceSearch.nearestInt(id * scales[ib])))
                let dl = d * Float(l)
                let idl: Float = dl != 0 ? 1 / dl : 0
                for j in 0..<32 { L[32 * ib + j] = UInt8(GGMLReferenceSearch.nearestLevel(levels, count: 16, idl * x[32 * ib + j])) }
                subBlockScales[ib] = UInt8(l + 32)
            }
            return GGMLF16.encode(d)
        }
    }
}

extension GGMLIQ4_NL: GGMLScaledBlockGrid {
    public static let gridLevels: [Float] = levelValues.map(Float.init)
    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) { GGMLNibblePairs.store(codes, block + 2) }
}
