/// IQ4_XS: 256 weights, 4.25 bits each, in 8 sub-blocks of 32. x = d·(ls - 32)·kvalues[q]: q in 0...15 indexes
/// IQ4_NL's non-uniform level table, ls in 0...63 is a 6-bit scale per sub-block and d one f16 super-scale.
///
/// Layout (block_iq4_xs in llama.cpp's ggml-common.h), 136 bytes:
///
///     offset  size  field
///     0       2     d         f16 super-scale
///     2       2     scales_h  little-endian uint16: bits 2i, 2i+1 are bits 4, 5 of ls[i]
///     4       4     scales_l  byte i/2: low 4 bits of ls[i], even i in the low nibble, odd i in the high nibble
///     8       128   qs        16 bytes per sub-block i: byte j holds q[32i + j] low, q[32i + j + 16] high
public enum GGMLIQ4_XS: GGMLBlockCodec {
    public static let blockElements = 256
    public static let blockBytes = 136

    /// llama.cpp's quantize_iq4_xs (quantize_row_iq4_xs_ref calls it without importance): quantize_row_iq4_nl_impl
    /// over the 256 weights with ntry 7, weights x² without importance and importance·sqrt(sigma2 + x²) with it.
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 264) { buffer in
            let L = buffer.baseAddress!, ls = L + 256
            let d = GGMLIQ4_NL.referenceCodes(x, superBlock: 256, importance: importance, codes: L, subBlockScales: ls)
            store(d: d, subBlockScales: ls, codes: L, into: block)
        }
    }

    /// Per sub-block the best continuous scale from IQ4_NL's level sweep; then super-scales d = -s/32
    /// and s/31 for the sub-block scale s of largest magnitude, each with every sub-block's 6-bit scale chosen
    /// between the two integers around its ideal by re-rounding its codes, d refitted by least squares over the
    /// whole block and stored in f16; the best is kept only where it beats the reference.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { weightBuffer in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { valueBuffer in
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { raw in
            let w = weightBuffer.baseAddress!, values = valueBuffer.baseAddress!
            let codes = raw.baseAddress!.bindMemory(to: Int8.self, capacity: 512 + 32)
            let bestCodes = codes + 256, trial = codes + 512
            let ideal = (raw.baseAddress! + 544).bindMemory(to: Float.self, capacity: 8)
            let ls = (raw.baseAddress! + 576).bindMemory(to: UInt8.self, capacity: 16), bestLs = ls + 8
            let reference = raw.baseAddress! + 592

            quantizeReference(x, importance: importance, into: reference)
            GGMLScaleSearch.fillWeights(importance, count: 256, into: w)
            var largest: Float = 0
            GGMLScaleSearch.withSweepScratch { sweep in
                for ib in 0..<8 {
                    ideal[ib] = GGMLScaleSearch.levelScale(x + 32 * ib, weights: w + 32 * ib, count: 32, levels: GGMLIQ4_NL.levels,
                                                           levelCount: 16, tLow: 50, tHigh: 200, scratch: sweep)
                    if abs(ideal[ib]) > abs(largest) { largest = ideal[ib] }
                }
            }
            guard largest != 0 else { return block.copyMemory(from: reference, byteCount: 136) }

            var bestError = Float.infinity, bestD: UInt16 = 0
            for pass in 0..<2 {
                var d = pass == 0 ? -largest / 32 : largest / 31
                for _ in 0..<3 {
                    let bits = GGMLF16.encode(d)
                    let superScale = GGMLF16.decode(bits)
                    guard superScale != 0, superScale.isFinite else { break }
                    var total: Float = 0
                    for ib in 0..<8 {
                        total += chooseSubBlockScale(x + 32 * ib, weights: w + 32 * ib, superScale: superScale, ideal: ideal[ib],
                                                     scale: ls + ib, codes: codes + 32 * ib, trial: trial)
                    }
                    if total < bestError {
                        bestError = total; bestD = bits
                        bestCodes.update(from: codes, count: 256)
                        bestLs.update(from: ls, count: 8)
                    }
                    // Least-squares super-scale for these sub-block scales and codes.
                    var sxq: Float = 0, sqq: Float = 0
                    for i in 0..<256 {
                        let q = Float(Int32(ls[i / 32]) - 32) * Float(GGMLIQ4_NL.levels[Int(codes[i])])
                        sxq += w[i] * x[i] * q
                        sqq += w[i] * q * q
                    }
                    guard sqq > 0, GGMLF16.encode(sxq / sqq) != bits else { break }
                    d = sxq / sqq
                }
            }
            guard bestError.isFinite else { return block.copyMemory(from: reference, byteCount: 136) }
            store(d: bestD, subBlockScales: bestLs, codes: UnsafeRawPointer(bestCodes).assumingMemoryBound(to: UInt8.self), into: block)
            GGMLScaleSearch.keepBetter(Self.self, x, weights: w, block: block, reference: reference, scratch: values)
        }
        }
        }
    }

    /// dequantize_row_iq4_xs: (d·(ls - 32))·kvalues[q].
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block)
        let scalesHigh = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let levels = GGMLIQ4_NL.levels
        for ib in 0..<8 {
            let low = block.load(fromByteOffset: 4 + ib / 2, as: UInt8.self) >> UInt8(4 * (ib % 2)) & 0x0F
            let ls = Int32(low) | Int32(scalesHigh >> UInt16(2 * ib) & 3) << 4
            let dl = d * Float(ls - 32)
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 8 + 16 * ib + j, as: UInt8.self)
                y[32 * ib + j] = dl * Float(levels[Int(byte & 0x0F)])
                y[32 * ib + j + 16] = dl * Float(levels[Int(byte >> 4)])
            }
        }
    }

    /// The 6-bit scale (of the two integers around ideal/superScale, within -32...31) whose re-rounded codes give
    /// the smaller error, stored offset by 32 in `scale`, its codes in `codes`; returns that error.
    private static func chooseSubBlockScale(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, superScale: Float, ideal: Float,
                                            scale: UnsafeMutablePointer<UInt8>, codes: UnsafeMutablePointer<Int8>,
                                            trial: UnsafeMutablePointer<Int8>) -> Float {
        let below = Swift.max(-32, Swift.min(31, Int32((ideal / superScale).rounded(.down))))
        let above = Swift.min(31, below + 1)
        var bestError = Float.infinity
        for l in below...above {
            let e = GGMLScaleSearch.roundLevels(x, weights: w, count: 32, levels: GGMLIQ4_NL.levels, levelCount: 16,
                                                scale: superScale * Float(l), codes: trial)
            if e < bestError {
                bestError = e
                scale.pointee = UInt8(l + 32)
                codes.update(from: trial, count: 32)
            }
        }
        return bestError
    }

    /// Writes the super-scale bits, 8 offset sub-block scales (0...63) and 256 level indices in the block layout.
    private static func store(d: UInt16, subBlockScales ls: UnsafePointer<UInt8>, codes q: UnsafePointer<UInt8>,
                              into block: UnsafeMutableRawPointer) {
        GGMLF16.store(d, block)
        var scalesHigh: UInt16 = 0
        for ib in 0..<8 {
            scalesHigh |= UInt16(ls[ib] >> 4) << UInt16(2 * ib)
            if ib % 2 == 0 { block.storeBytes(of: ls[ib] & 0x0F | (ls[ib + 1] & 0x0F) << 4, toByteOffset: 4 + ib / 2, as: UInt8.self) }
            GGMLNibblePairs.store(q + 32 * ib, block + 8 + 16 * ib)
        }
        block.storeBytes(of: scalesHigh.littleEndian, toByteOffset: 2, as: UInt16.self)
    }
}

extension GGMLIQ4_XS: GGMLFixedGridCodec {
    public static let gridSubBlockSize = 32
    public static let gridLevels: [Float] = GGMLIQ4_NL.levelValues.map(Float.init)
    public static func gridMaps(_ block: UnsafeRawPointer, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) {
        let d = GGMLF16.load(block)
        let scalesHigh = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        for ib in 0..<8 {
            let low = block.load(fromByteOffset: 4 + ib / 2, as: UInt8.self) >> UInt8(4 * (ib % 2)) & 0x0F
            let ls = Int32(low) | Int32(scalesHigh >> UInt16(2 * ib) & 3) << 4
            a[ib] = d * Float(ls - 32); b[ib] = 0
        }
    }
    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) {
        for ib in 0..<8 { GGMLNibblePairs.store(codes + 32 * ib, block + 8 + 16 * ib) }
    }
}
