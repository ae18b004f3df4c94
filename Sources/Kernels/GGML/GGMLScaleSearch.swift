/// Our choice of scales inside ggml's level grids (`quantize` of IQ4_NL and IQ4_XS).
///
/// For a fixed scale the best code of every weight is its nearest level, so a block's error is a function of
/// the scale alone. The sweep scores a fine grid of inverse scales s (`gridPoints` between two bounds) without
/// re-rounding the block at each: every weight adds each change of its level to the sums Σw·x·q and Σw·q² of the
/// grid interval where that change happens; running totals then give each grid point's code vector, scored by its
/// weighted least-squares scale. The winner is stored as ggml stores it,
/// in f16, so the finishing steps re-round the codes at the f16 scale, try its f16 neighbours, refit by least
/// squares and repeat while that helps.
/// Objective: Σ w·(x - x̂)² with w from the importance (ones without it) — the measure `weightedError` reports.
enum GGMLScaleSearch {
    /// Σ w·(x - y)², in Double and index order.
    static func weightedError(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        for i in 0..<count {
            let e = Double(x[i]) - Double(y[i])
            sum += Double(w[i]) * e * e
        }
        return sum
    }

    /// Search weights: the importance, or ones.
    static func fillWeights(_ importance: UnsafePointer<Float>?, count: Int, into w: UnsafeMutablePointer<Float>) {
        if let importance { GGMLReferenceSearch.searchWeights(importance: importance, count: count, into: w) } else { w.update(repeating: 1, count: count) }
    }

    /// Leaves in `block` whichever of it and `reference` dequantizes with the smaller `weightedError` (the
    /// reference on ties), so `quantize` is never worse than `quantizeReference`.
    @inline(__always)
    static func keepBetter<Codec: GGMLBlockCodec>(_ codec: Codec.Type, _ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>,
                                                 block: UnsafeMutableRawPointer, reference: UnsafeRawPointer,
                                                 scratch y: UnsafeMutablePointer<Float>) {
        let n = Codec.blockElements
        Codec.dequantize(block, into: y)
        let ours = weightedError(x, y, weights: w, count: n)
        Codec.dequantize(reference, into: y)
        // Written as "not better" so that a NaN error (non-finite input) also falls back to the reference.
        if !(ours < weightedError(x, y, weights: w, count: n)) {
            block.copyMemory(from: reference, byteCount: Codec.blockBytes)
        }
    }

    // MARK: Sweeps

    /// Inverse scales scored per sweep, in equal steps.
    static var gridPoints: Int { 128 }

    /// The best signed scale d for x ≈ d·levels[c] (a sorted table of `levelCount` levels), over the code vectors
    /// nearest-level rounding gives on the grid of |1/d| from tLow/amax to tHigh/amax, both signs. 0 when none fits.
    static func levelScale(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int,
                           levels: UnsafePointer<Int8>, levelCount: Int, tLow: Float, tHigh: Float, scratch: SweepScratch) -> Float {
        let amax = maxMagnitude(x, count: n)
        guard amax > 0, amax.isFinite else { return 0 }
        let s0 = tLow / amax, s1 = tHigh / amax, perStep = Float(gridPoints) / (s1 - s0)
        let dxq = scratch.first, dqq = scratch.second
        var best = (xq: 0.0, qq: 1.0, sign: Float(1)), bestScore = 0.0
        for pass in 0..<2 {
            let sign: Float = pass == 0 ? 1 : -1
            dxq.update(repeating: 0, count: gridPoints)
            dqq.update(repeating: 0, count: gridPoints)
            var sxq = 0.0, sqq = 0.0
            for i in 0..<n {
                let v = sign * x[i]
                let c0 = GGMLReferenceSearch.nearestLevel(levels, count: levelCount, v * s0)
                let c1 = GGMLReferenceSearch.nearestLevel(levels, count: levelCount, v * s1)
                let q0 = Float(levels[c0])
                sxq += Double(w[i] * v) * Double(q0)
                sqq += Double(w[i]) * Double(q0 * q0)
                guard c1 != c0 else { continue }
                // The level changes where v·s crosses the midpoint between neighbouring levels.
                let step = c1 > c0 ? 1 : -1, iv = 1 / v
                var c = c0
                while c != c1 {
                    let next = c + step
                    let qa = Float(levels[c]), qb = Float(levels[next])
                    let k = gridIndex((qa + qb) * 0.5 * iv, from: s0, perStep: perStep)
                    dxq[k] += w[i] * v * (qb - qa)
                    dqq[k] += w[i] * (qb * qb - qa * qa)
                    c = next
                }
            }
            // A code vector's score is the error it removes with its least-squares scale: sxq²/sqq.
            for k in -1..<gridPoints {
                if k >= 0 { sxq += Double(dxq[k]); sqq += Double(dqq[k]) }
                if sxq > 0, sxq * sxq > bestScore * sqq { bestScore = sxq * sxq / sqq; best = (sxq, sqq, sign) }
            }
        }
        return best.xq > 0 ? best.sign * Float(best.xq / best.qq) : 0
    }

    /// The grid interval an inverse scale falls in (clamped: rounding can put a boundary a hair outside).
    @inline(__always)
    private static func gridIndex(_ s: Float, from s0: Float, perStep: Float) -> Int {
        Swift.max(0, Swift.min(gridPoints - 1, Int((s - s0) * perStep)))
    }

    // MARK: Finishing at f16

    /// Codes for x ≈ d·levels[c] (nearest level) into `codes`, and their error as dequantization computes d·level.
    @inline(__always)
    static func roundLevels(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int,
                            levels: UnsafePointer<Int8>, levelCount: Int, scale d: Float, codes: UnsafeMutablePointer<Int8>) -> Float {
        let inverse = d != 0 ? 1 / d : 0
        var error: Float = 0
        for i in 0..<n {
            let c = GGMLReferenceSearch.nearestLevel(levels, count: levelCount, x[i] * inverse)
            codes[i] = Int8(truncatingIfNeeded: c)
            let e = x[i] - d * Float(levels[c])
            error += w[i] * e * e
        }
        return error
    }

    /// `finishSymmetric` for a level table. Returns the f16 bits of d; the level indices are in `codes`.
    static func finishLevels(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int,
                             levels: UnsafePointer<Int8>, levelCount: Int, scale d: Float,
                             codes: UnsafeMutablePointer<Int8>, scratch trial: UnsafeMutablePointer<Int8>) -> UInt16 {
        var center = GGMLF16.encode(d)
        var bestBits = center, bestError = Float.infinity
        codes.update(repeating: 0, count: n)
        for _ in 0..<3 {
            for bits in neighbours(center) {
                let e = roundLevels(x, weights: w, count: n, levels: levels, levelCount: levelCount, scale: GGMLF16.decode(bits), codes: trial)
                if e < bestError { bestError = e; bestBits = bits; codes.update(from: trial, count: n) }
            }
            var sxq: Float = 0, sqq: Float = 0
            for i in 0..<n {
                let q = Float(levels[Int(codes[i])])
                sxq += w[i] * x[i] * q
                sqq += w[i] * q * q
            }
            guard sqq > 0 else { break }
            let refit = GGMLF16.encode(sxq / sqq)
            if refit == center { break }
            center = refit
        }
        return bestBits
    }

    // MARK: Helpers

    /// An f16 and the finite values either side of it with the same sign (fewer at zero and at the largest finite).
    @inline(__always)
    static func neighbours(_ bits: UInt16) -> FixedNeighbours {
        FixedNeighbours(center: bits)
    }

    struct FixedNeighbours: Sequence, IteratorProtocol {
        let center: UInt16
        var step = 0
        mutating func next() -> UInt16? {
            while step < 3 {
                defer { step += 1 }
                let magnitude = center & 0x7FFF
                switch step {
                case 0: if magnitude <= 0x7BFF { return center }
                case 1: if magnitude >= 1, magnitude <= 0x7BFF { return center - 1 }
                default: if magnitude < 0x7BFF { return center + 1 }
                }
            }
            return nil
        }
    }

    @inline(__always)
    static func maxMagnitude(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var amax: Float = 0
        for i in 0..<n { amax = Swift.max(amax, abs(x[i])) }
        return amax
    }

    /// Working memory of one sweep: per-grid-interval sums, two arrays of `gridPoints`.
    struct SweepScratch {
        let first: UnsafeMutablePointer<Float>
        let second: UnsafeMutablePointer<Float>
    }

    /// Runs `body` with sweep scratch on the stack (two allocations of 512 bytes: each under the 1 KiB that needs
    /// no stack check).
    @inline(__always)
    static func withSweepScratch<R>(_ body: (SweepScratch) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 128) { first in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 128) { second in
                body(SweepScratch(first: first.baseAddress!, second: second.baseAddress!))
            }
        }
    }

    /// Working memory of `quantize` for a block of at most 32 weights.
    struct BlockScratch {
        let sweep: SweepScratch
        let weights: UnsafeMutablePointer<Float>
        /// A dequantized block.
        let values: UnsafeMutablePointer<Float>
        let codes: UnsafeMutablePointer<Int8>
        let trial: UnsafeMutablePointer<Int8>
        /// The reference block, up to 64 bytes.
        let reference: UnsafeMutableRawPointer
    }

    /// Runs `body` with a `BlockScratch` on the stack.
    @inline(__always)
    static func withBlockScratch<R>(_ body: (BlockScratch) -> R) -> R {
        withSweepScratch { sweep in
            withUnsafeTemporaryAllocation(byteCount: 384, alignment: 16) { raw in
                let p = raw.baseAddress!
                return body(BlockScratch(sweep: sweep, weights: p.bindMemory(to: Float.self, capacity: 32),
                                         values: (p + 128).bindMemory(to: Float.self, capacity: 32),
                                         codes: (p + 256).bindMemory(to: Int8.self, capacity: 32),
                                         trial: (p + 288).bindMemory(to: Int8.self, capacity: 32), reference: p + 320))
            }
        }
    }
}
