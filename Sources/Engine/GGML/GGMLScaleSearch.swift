/// Our choice of scales inside ggml's grids (`quantize` of the block formats).
///
/// For a fixed scale the best code of every weight is its nearest grid point, so a block's error is a function of
/// the scale alone. The sweeps walk the inverse scale s upward through every point where some weight's nearest
/// code changes (a min-heap of each weight's next boundary), keep the weighted sums of the current codes up to
/// date in O(1) per crossing, and score each code vector by its weighted least-squares scale (and offset).
/// The winner is then stored as ggml stores it, in f16, so the finishing steps re-round the codes at the f16
/// scale, try its f16 neighbours, refit by least squares and repeat while that helps.
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

    /// The best signed scale d for x ≈ d·c with integer codes c in lo...hi, over every code vector that nearest
    /// rounding gives for |1/d| between tLow/amax and tHigh/amax (both signs of d). 0 when no code vector fits.
    static func symmetricScale(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int, lo: Int32, hi: Int32,
                               tLow: Float, tHigh: Float, scratch: SweepScratch) -> Float {
        let amax = maxMagnitude(x, count: n)
        guard amax > 0, amax.isFinite else { return 0 }
        let s0 = tLow / amax, s1 = tHigh / amax
        var bestScore = 0.0, bestScale: Float = 0
        let c = scratch.codes
        for pass in 0..<2 {
            let sign: Float = pass == 0 ? 1 : -1
            var heap = BoundaryHeap(scratch)
            var sxq = 0.0, sqq = 0.0
            for i in 0..<n {
                let v = sign * x[i]
                let ci = Swift.max(lo, Swift.min(hi, GGMLReferenceSearch.nearestInt(v * s0)))
                c[i] = ci
                sxq += Double(w[i]) * Double(v) * Double(ci)
                sqq += Double(w[i]) * Double(ci * ci)
                if v > 0, ci < hi { heap.push((Float(ci) + 0.5) / v, Int32(i), limit: s1) }
                if v < 0, ci > lo { heap.push((Float(-ci) + 0.5) / -v, Int32(i), limit: s1) }
            }
            while true {
                if sxq > 0, sqq > 0, sxq * sxq > bestScore * sqq {
                    bestScore = sxq * sxq / sqq
                    bestScale = sign * Float(sxq / sqq)
                }
                guard heap.count > 0 else { break }
                let i = Int(heap.minItem)
                let v = sign * x[i]
                let old = c[i], new = v > 0 ? old + 1 : old - 1
                c[i] = new
                sxq += Double(w[i]) * Double(abs(v))
                sqq += Double(w[i]) * Double(new * new - old * old)
                if v > 0, new < hi { heap.replaceMin((Float(new) + 0.5) / v, limit: s1) }
                else if v < 0, new > lo { heap.replaceMin((Float(-new) + 0.5) / -v, limit: s1) }
                else { heap.removeMin() }
            }
        }
        return bestScale
    }

    /// The best (d > 0, m) for x ≈ d·c + m with codes c in 0...hi: codes from nearest rounding of (x - m0)·s for
    /// s between tLow and tHigh over the range above m0, each scored with its joint least-squares d and m. Two
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
        let c = scratch.codes
        for _ in 0..<2 {
            let range = highest - m0
            guard range > 0 else { break }
            let s0 = tLow / range, s1 = tHigh / range
            var heap = BoundaryHeap(scratch)
            var sq = 0.0, sqq = 0.0, sxq = 0.0
            for i in 0..<n {
                let u = x[i] - m0
                let ci = u > 0 ? Swift.min(hi, GGMLReferenceSearch.nearestInt(u * s0)) : 0
                c[i] = ci
                sq += Double(w[i]) * Double(ci)
                sqq += Double(w[i]) * Double(ci * ci)
                sxq += Double(w[i]) * Double(x[i]) * Double(ci)
                if u > 0, ci < hi { heap.push((Float(ci) + 0.5) / u, Int32(i), limit: s1) }
            }
            while true {
                let det = sw * sqq - sq * sq
                if det > 1e-9 * sw * sqq {
                    let d = (sw * sxq - sx * sq) / det
                    let m = (sqq * sx - sq * sxq) / det
                    let score = d * sxq + m * sx
                    if d > 0, score > (best?.score ?? -.infinity) { best = (score, Float(d), Float(m)) }
                }
                guard heap.count > 0 else { break }
                let i = Int(heap.minItem)
                let old = c[i]
                c[i] = old + 1
                sq += Double(w[i])
                sqq += Double(w[i]) * Double(2 * old + 1)
                sxq += Double(w[i]) * Double(x[i])
                if old + 1 < hi { heap.replaceMin((Float(old + 1) + 0.5) / (x[i] - m0), limit: s1) } else { heap.removeMin() }
            }
            guard let b = best, b.m != m0, b.m < highest else { break }
            m0 = b.m
        }
        return best.map { ($0.d, $0.m) }
    }

    /// The best signed scale d for x ≈ d·levels[c] (a sorted table of `levelCount` levels), over every code vector
    /// that nearest-level rounding gives for |1/d| between tLow/amax and tHigh/amax, both signs. 0 when none fits.
    static func levelScale(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, count n: Int,
                           levels: UnsafePointer<Int8>, levelCount: Int, tLow: Float, tHigh: Float, scratch: SweepScratch) -> Float {
        let amax = maxMagnitude(x, count: n)
        guard amax > 0, amax.isFinite else { return 0 }
        let s0 = tLow / amax, s1 = tHigh / amax
        let top = Int32(levelCount - 1)
        // Midpoint between levels j and j+1: where the nearest level changes.
        func midpoint(_ j: Int32) -> Float { Float(Int(levels[Int(j)]) + Int(levels[Int(j) + 1])) * 0.5 }
        var bestScore = 0.0, bestScale: Float = 0
        let c = scratch.codes
        for pass in 0..<2 {
            let sign: Float = pass == 0 ? 1 : -1
            var heap = BoundaryHeap(scratch)
            var sxq = 0.0, sqq = 0.0
            for i in 0..<n {
                let v = sign * x[i]
                let ci = Int32(GGMLReferenceSearch.nearestLevel(levels, count: levelCount, v * s0))
                c[i] = ci
                let q = Double(levels[Int(ci)])
                sxq += Double(w[i]) * Double(v) * q
                sqq += Double(w[i]) * q * q
                if v > 0, ci < top { heap.push(midpoint(ci) / v, Int32(i), limit: s1) }
                if v < 0, ci > 0 { heap.push(midpoint(ci - 1) / v, Int32(i), limit: s1) }
            }
            while true {
                if sxq > 0, sqq > 0, sxq * sxq > bestScore * sqq {
                    bestScore = sxq * sxq / sqq
                    bestScale = sign * Float(sxq / sqq)
                }
                guard heap.count > 0 else { break }
                let i = Int(heap.minItem)
                let v = sign * x[i]
                let old = c[i], new = v > 0 ? old + 1 : old - 1
                c[i] = new
                let qOld = Double(levels[Int(old)]), qNew = Double(levels[Int(new)])
                sxq += Double(w[i]) * Double(v) * (qNew - qOld)
                sqq += Double(w[i]) * (qNew * qNew - qOld * qOld)
                if v > 0, new < top { heap.replaceMin(midpoint(new) / v, limit: s1) }
                else if v < 0, new > 0 { heap.replaceMin(midpoint(new - 1) / v, limit: s1) }
                else { heap.removeMin() }
            }
        }
        return bestScale
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

    /// Working memory of one sweep over at most 32 weights: current codes and the boundary heap.
    struct SweepScratch {
        let codes: UnsafeMutablePointer<Int32>
        let keys: UnsafeMutablePointer<Float>
        let items: UnsafeMutablePointer<Int32>
    }

    /// Runs `body` with sweep scratch on the stack (three arrays of 32, under the 1 KiB that stays on the stack).
    @inline(__always)
    static func withSweepScratch<R>(_ body: (SweepScratch) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 384, alignment: 16) { raw in
            body(sweepScratch(raw.baseAddress!))
        }
    }

    @inline(__always)
    private static func sweepScratch(_ p: UnsafeMutableRawPointer) -> SweepScratch {
        SweepScratch(codes: p.bindMemory(to: Int32.self, capacity: 32), keys: (p + 128).bindMemory(to: Float.self, capacity: 32),
                     items: (p + 256).bindMemory(to: Int32.self, capacity: 32))
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

    /// Runs `body` with a `BlockScratch` on the stack (768 bytes: under the 1 KiB that needs no stack check).
    @inline(__always)
    static func withBlockScratch<R>(_ body: (BlockScratch) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 768, alignment: 16) { raw in
            let p = raw.baseAddress!
            return body(BlockScratch(sweep: sweepScratch(p), weights: (p + 384).bindMemory(to: Float.self, capacity: 32),
                                     values: (p + 512).bindMemory(to: Float.self, capacity: 32),
                                     codes: (p + 640).bindMemory(to: Int8.self, capacity: 32),
                                     trial: (p + 672).bindMemory(to: Int8.self, capacity: 32), reference: p + 704))
        }
    }

    /// A binary min-heap of (inverse scale of a weight's next code boundary, weight index).
    struct BoundaryHeap {
        let keys: UnsafeMutablePointer<Float>
        let items: UnsafeMutablePointer<Int32>
        var count = 0

        init(_ scratch: SweepScratch) {
            keys = scratch.keys
            items = scratch.items
        }

        var minItem: Int32 { items[0] }

        /// Adds a boundary unless it lies past the end of the sweep.
        @inline(__always)
        mutating func push(_ key: Float, _ item: Int32, limit: Float) {
            guard key <= limit else { return }
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) >> 1
                guard keys[parent] > key else { break }
                keys[i] = keys[parent]; items[i] = items[parent]
                i = parent
            }
            keys[i] = key; items[i] = item
        }

        /// Gives the smallest entry's weight its next boundary (or drops it when that lies past the end).
        @inline(__always)
        mutating func replaceMin(_ key: Float, limit: Float) {
            guard key <= limit else { removeMin(); return }
            siftDown(key, items[0])
        }

        @inline(__always)
        mutating func removeMin() {
            count -= 1
            if count > 0 { siftDown(keys[count], items[count]) }
        }

        @inline(__always)
        private mutating func siftDown(_ key: Float, _ item: Int32) {
            var i = 0
            while true {
                var child = 2 * i + 1
                guard child < count else { break }
                if child + 1 < count, keys[child + 1] < keys[child] { child += 1 }
                guard keys[child] < key else { break }
                keys[i] = keys[child]; items[i] = items[child]
                i = child
            }
            keys[i] = key; items[i] = item
        }
    }
}
