/// Our choice of scales inside ggml's grids (`quantize` of the block formats).
///
/// For a fixed scale the best code of every weight is its nearest grid point, so a block's error is a function of
/// the scale alone. The sweeps score a fine grid of inverse scales s (`gridPoints` between two bounds) without
/// re-rounding the block at each: every weight adds each change of its code to the sums Σw·x·q, Σw·q² (and Σw·q
/// for an offset) of the grid interval where that change happens; running totals then give each grid point's
/// code vector, scored by its weighted least-squares scale (and offset). The winner is stored as ggml stores it,
/// in f16, so the finishing steps re-round the codes at the f16 scale, try its f16 neighbours, refit by least
/// squares and repeat while that helps.
/// Objective: Σ w·(x - x̂)² with w the importance (ones without it) — the measure `weightedError` reports.
enum GGMLScaleSearch {
    /// Σ importance·(x - y)², or Σ (x - y)² without importance, in Double and index order.
    static func weightedError(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, importance: UnsafePointer<Float>?,
                              count: Int) -> Double {
        var sum = 0.0
        for i in 0..<count {
            let e = Double(x[i]) - Double(y[i])
            sum += (importance.map { Double($0[i]) } ?? 1) * e * e
        }
        return sum
    }

    /// Search weights: the importance, or ones.
    static func fillWeights(_ importance: UnsafePointer<Float>?, count: Int, into w: UnsafeMutablePointer<Float>) {
        if let importance { w.update(from: importance, count: count) } else { w.update(repeating: 1, count: count) }
    }

    /// Leaves in `block` whichever of it and `reference` dequantizes with the smaller `weightedError` (the
    /// reference on ties), so `quantize` is never worse than `quantizeReference`.
    @inline(__always)
    static func keepBetter<Codec: GGMLBlockCodec>(_ codec: Codec.Type, _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?,
                                                 block: UnsafeMutableRawPointer, reference: UnsafeRawPointer,
                                                 scratch y: UnsafeMutablePointer<Float>) {
        let n = Codec.blockElements
        Codec.dequantize(block, into: y)
        let ours = weightedError(x, y, importance: importance, count: n)
        Codec.dequantize(reference, into: y)
        // Written as "not better" so that a NaN error (non-finite input) also falls back to the reference.
        if !(ours < weightedError(x, y, importance: importance, count: n)) {
            block.copyMemory(from: reference, byteCount: Codec.blockBytes)
        }
    }

    // MARK: Sweeps

    /// Inverse scales scored per sweep, in equal steps.
    static var gridPoints: Int { 128 }

    /// The best signed scale d for x ≈ d·c with integer codes c in lo...hi, over the code vectors nearest rounding
    /// gives on the grid of |1/d| from tLow/amax to tHigh/amax, both signs of d. 0 when no code vector fits.
    static func symmetricScale(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, lo: Int32, hi: Int32,
                               tLow: Float, tHigh: Float, scratch: SweepScratch) -> Float {
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
                let v = sign * x[i], a = abs(v)
                guard a > 0 else { continue }
                // Codes only move away from zero as s grows: follow |c| up to the side's limit.
                let limit = v > 0 ? hi : -lo
                let m0 = Swift.min(limit, GGMLReferenceSearch.nearestInt(a * s0))
                let m1 = Swift.min(limit, GGMLReferenceSearch.nearestInt(a * s1))
                let wa = w[i] * a
                sxq += Double(wa) * Double(m0)
                sqq += Double(w[i]) * Double(m0 * m0)
                guard m1 > m0 else { continue }
                let ia = 1 / a
                for m in m0..<m1 {
                    let k = gridIndex((Float(m) + 0.5) * ia, from: s0, perStep: perStep)
                    dxq[k] += wa
                    dqq[k] += w[i] * Float(2 * m + 1)
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

    /// The best (d > 0, m) for x ≈ d·c + m with codes c in 0...hi: codes from nearest rounding of (x - m0)·s on the
    /// grid of s from tLow to tHigh over the range above m0, each scored with its joint least-squares d and m. Two
    /// rounds: m0 the block minimum, then the best m of the first round. nil when no code vector fits.
    static func affineScale(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, hi: Int32,
                            tLow: Float, tHigh: Float, scratch: SweepScratch) -> (d: Float, m: Float)? {
        var lowest = x[0], highest = x[0]
        var sw = 0.0, sx = 0.0
        for i in 0..<n {
            lowest = Swift.min(lowest, x[i]); highest = Swift.max(highest, x[i])
            sw += Double(w[i]); sx += Double(w[i]) * Double(x[i])
        }
        guard highest > lowest, (highest - lowest).isFinite, sw > 0 else { return nil }
        var best: (score: Double, d: Float, m: Float)? = nil
        var m0 = lowest
        let dq = scratch.first, dqq = scratch.second, dxq = scratch.third
        for _ in 0..<2 {
            let range = highest - m0
            guard range > 0 else { break }
            let s0 = tLow / range, s1 = tHigh / range, perStep = Float(gridPoints) / (s1 - s0)
            dq.update(repeating: 0, count: gridPoints)
            dqq.update(repeating: 0, count: gridPoints)
            dxq.update(repeating: 0, count: gridPoints)
            var sq = 0.0, sqq = 0.0, sxq = 0.0
            for i in 0..<n {
                let u = x[i] - m0
                guard u > 0 else { continue }
                let c0 = Swift.min(hi, GGMLReferenceSearch.nearestInt(u * s0))
                let c1 = Swift.min(hi, GGMLReferenceSearch.nearestInt(u * s1))
                let wx = w[i] * x[i]
                sq += Double(w[i]) * Double(c0)
                sqq += Double(w[i]) * Double(c0 * c0)
                sxq += Double(wx) * Double(c0)
                guard c1 > c0 else { continue }
                let iu = 1 / u
                for c in c0..<c1 {
                    let k = gridIndex((Float(c) + 0.5) * iu, from: s0, perStep: perStep)
                    dq[k] += w[i]
                    dqq[k] += w[i] * Float(2 * c + 1)
                    dxq[k] += wx
                }
            }
            for k in -1..<gridPoints {
                if k >= 0 { sq += Double(dq[k]); sqq += Double(dqq[k]); sxq += Double(dxq[k]) }
                let det = sw * sqq - sq * sq
                guard det > 1e-9 * sw * sqq else { continue }
                let d = (sw * sxq - sx * sq) / det
                let m = (sqq * sx - sq * sxq) / det
                let score = d * sxq + m * sx
                if d > 0, score > (best?.score ?? -.infinity) { best = (score, Float(d), Float(m)) }
            }
            guard let b = best, b.m != m0, b.m < highest else { break }
            m0 = b.m
        }
        return best.map { ($0.d, $0.m) }
    }

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

    /// Codes for scale `d` (nearest in lo...hi) into `codes`, and their error Σ w·(x - c·d)² as dequantization
    /// computes c·d.
    @inline(__always)
    static func roundSymmetric(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, lo: Int32, hi: Int32,
                               scale d: Float, codes: UnsafeMutablePointer<Int8>) -> Float {
        let inverse = d != 0 ? 1 / d : 0
        var error: Float = 0
        for i in 0..<n {
            let c = Swift.max(lo, Swift.min(hi, GGMLReferenceSearch.nearestInt(x[i] * inverse)))
            codes[i] = Int8(truncatingIfNeeded: c)
            let e = x[i] - Float(c) * d
            error += w[i] * e * e
        }
        return error
    }

    /// Stores scale `d` as f16 the best way for codes in lo...hi: the f16 nearest d and its two neighbours, codes
    /// re-rounded at each, then the least-squares scale of the best codes, until that stops helping. Returns the f16
    /// bits; the codes are in `codes`.
    static func finishSymmetric(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, lo: Int32, hi: Int32,
                                scale d: Float, codes: UnsafeMutablePointer<Int8>, scratch trial: UnsafeMutablePointer<Int8>) -> UInt16 {
        var center = GGMLF16.encode(d)
        var bestBits = center, bestError = Float.infinity
        codes.update(repeating: 0, count: n)
        for _ in 0..<3 {
            for bits in neighbours(center) {
                let e = roundSymmetric(x, weights: w, count: n, lo: lo, hi: hi, scale: GGMLF16.decode(bits), codes: trial)
                if e < bestError { bestError = e; bestBits = bits; codes.update(from: trial, count: n) }
            }
            var sxq: Float = 0, sqq: Float = 0
            for i in 0..<n {
                let c = Float(codes[i])
                sxq += w[i] * x[i] * c
                sqq += w[i] * c * c
            }
            guard sqq > 0 else { break }
            let refit = GGMLF16.encode(sxq / sqq)
            if refit == center { break }
            center = refit
        }
        return bestBits
    }

    /// Codes for x ≈ d·c + m (nearest in 0...hi) into `codes`, and their error as dequantization computes c·d + m.
    @inline(__always)
    static func roundAffine(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, hi: Int32,
                            scale d: Float, offset m: Float, codes: UnsafeMutablePointer<Int8>) -> Float {
        let inverse = d > 0 ? 1 / d : 0
        var error: Float = 0
        for i in 0..<n {
            let c = Swift.max(0, Swift.min(hi, GGMLReferenceSearch.nearestInt((x[i] - m) * inverse)))
            codes[i] = Int8(truncatingIfNeeded: c)
            let e = x[i] - (Float(c) * d + m)
            error += w[i] * e * e
        }
        return error
    }

    /// `finishSymmetric` for x ≈ d·c + m: both stored as f16, neighbours of each tried, then the joint
    /// least-squares d and m of the best codes. Returns the f16 bits of d and m; the codes are in `codes`.
    static func finishAffine(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, hi: Int32,
                             scale d: Float, offset m: Float, codes: UnsafeMutablePointer<Int8>,
                             scratch trialCodes: UnsafeMutablePointer<Int8>) -> (d: UInt16, m: UInt16) {
        var center = (d: GGMLF16.encode(d), m: GGMLF16.encode(m))
        var best = center, bestError = Float.infinity
        codes.update(repeating: 0, count: n)
        func trial(_ dBits: UInt16, _ mBits: UInt16) {
            let e = roundAffine(x, weights: w, count: n, hi: hi, scale: GGMLF16.decode(dBits), offset: GGMLF16.decode(mBits), codes: trialCodes)
            if e < bestError { bestError = e; best = (dBits, mBits); codes.update(from: trialCodes, count: n) }
        }
        for _ in 0..<3 {
            // The f16 neighbours of d and of m, one at a time: rounding either moves the error far less than a code step.
            for dBits in neighbours(center.d) { trial(dBits, center.m) }
            for mBits in neighbours(center.m) where mBits != center.m { trial(center.d, mBits) }
            var sw: Float = 0, sq: Float = 0, sqq: Float = 0, sx: Float = 0, sxq: Float = 0
            for i in 0..<n {
                let c = Float(codes[i])
                sw += w[i]; sq += w[i] * c; sqq += w[i] * c * c; sx += w[i] * x[i]; sxq += w[i] * x[i] * c
            }
            let det = sw * sqq - sq * sq
            guard det > 1e-6 * sw * sqq else { break }
            let refit = (d: GGMLF16.encode((sw * sxq - sx * sq) / det), m: GGMLF16.encode((sqq * sx - sq * sxq) / det))
            if refit == center { break }
            center = refit
        }
        return best
    }

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

    /// Working memory of one sweep: per-grid-interval sums, three arrays of `gridPoints`.
    struct SweepScratch {
        let first: UnsafeMutablePointer<Float>
        let second: UnsafeMutablePointer<Float>
        let third: UnsafeMutablePointer<Float>
    }

    /// Runs `body` with sweep scratch on the stack (three allocations of 512 bytes: each under the 1 KiB that needs
    /// no stack check).
    @inline(__always)
    static func withSweepScratch<R>(_ body: (SweepScratch) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 128) { first in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 128) { second in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 128) { third in
                    body(SweepScratch(first: first.baseAddress!, second: second.baseAddress!, third: third.baseAddress!))
                }
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
