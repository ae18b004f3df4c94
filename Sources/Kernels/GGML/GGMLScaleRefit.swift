/// Our scales for the 32-weight legacy formats (`quantize` of Q4_0, Q5_0, Q8_0: x ≈ d·c; Q4_1, Q5_1: x ≈ d·c + m),
/// refitted from llama.cpp's own block instead of swept: for fixed codes the best d (and m) is the weighted
/// least-squares fit, for a fixed d (and m) the best codes are the nearest ones, so alternating the two lowers the
/// error at every step. Each step is one SIMD pass over the block that rounds the codes at the f16 scale as
/// stored, scores them as dequantization computes them and gathers the sums of the next fit; a handful of steps
/// settle. The winner replaces the reference block only when its error is lower by more than float rounding can
/// account for (`margin`), so ours is never worse, also when measured in Double.
/// Objective: Σ w·(x - x̂)² with w the importance. Without importance the reference block stays: the refit lowers
/// squared error (SmolLM2's Q4_0 tensors: 0.84 of llama.cpp's, 0.95 weighted by an imatrix) but moved SmolLM2's
/// perplexity by about 1% either way (whole eval.txt: Q3_K_M 31.28 with it against 31.09 without, Q2_K 37.37
/// against 37.72) and tied on tiny-llama (Q4_0 3.4040 against 3.4054). Error, even diag(H)-weighted, did not
/// rank these data-free blocks as the model's loss did, so data-free they are llama.cpp's; an importance matrix
/// or H turns the refit on.
enum GGMLScaleRefit {
    typealias Lanes = SIMD8<Float>

    /// Steps per start; the scale has stopped moving by then in nearly every block.
    static let steps = 4

    /// The Float sums of 32 non-negative terms differ from the exact (Double) ones by under 2^-18 of the total:
    /// ours has to beat the reference by more to count as better.
    static let margin: Float = 1 - 0x1p-16

    /// The scratch of one block: weights, a dequantized block, the winner's codes.
    struct Scratch {
        let weights: UnsafeMutablePointer<Float>
        let values: UnsafeMutablePointer<Float>
        let codes: UnsafeMutablePointer<UInt8>
    }

    @inline(__always)
    static func withScratch<R>(_ importance: UnsafePointer<Float>, _ body: (Scratch) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 288, alignment: 32) { raw in
            let p = raw.baseAddress!
            let s = Scratch(weights: p.bindMemory(to: Float.self, capacity: 32), values: (p + 128).bindMemory(to: Float.self, capacity: 32),
                            codes: (p + 256).bindMemory(to: UInt8.self, capacity: 32))
            GGMLReferenceSearch.searchWeights(importance: importance, count: 32, into: s.weights)
            return body(s)
        }
    }

    /// `quantize` of a format x ≈ d·c with c in lo...hi and d the f16 at offset 0: the reference block in `block`,
    /// replaced through `store(d, codes minus lo)` where the refit beats it under the importance.
    @inline(__always)
    static func quantizeSymmetric<Codec: GGMLBlockCodec>(_ codec: Codec.Type, _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?,
                                                          lo: Float, hi: Float, into block: UnsafeMutableRawPointer,
                                                          store: (UInt16, UnsafePointer<UInt8>) -> Void) {
        Codec.quantizeReference(x, importance: importance, into: block)
        guard let importance else { return }
        withScratch(importance) { s in
            Codec.dequantize(block, into: s.values)
            let referenceScale = UInt16(littleEndian: block.loadUnaligned(as: UInt16.self))
            if let d = symmetric(x, lo: lo, hi: hi, referenceScale: referenceScale, referenceError: error(x, s.values, weights: s.weights),
                                 scratch: s) {
                store(d, s.codes)
            }
        }
    }

    /// `quantize` of a format x ≈ d·c + m with c in 0...hi and d, m the f16s at offsets 0 and 2: the reference
    /// block in `block`, replaced through `store(d, m, codes)` where the refit beats it under the importance.
    @inline(__always)
    static func quantizeAffine<Codec: GGMLBlockCodec>(_ codec: Codec.Type, _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?,
                                                       hi: Float, into block: UnsafeMutableRawPointer,
                                                       store: (UInt16, UInt16, UnsafePointer<UInt8>) -> Void) {
        Codec.quantizeReference(x, importance: importance, into: block)
        guard let importance else { return }
        withScratch(importance) { s in
            Codec.dequantize(block, into: s.values)
            let reference = (d: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)),
                             m: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            if let fit = affine(x, hi: hi, reference: reference, referenceError: error(x, s.values, weights: s.weights), scratch: s) {
                store(fit.d, fit.m, s.codes)
            }
        }
    }

    // MARK: x ≈ d·c, c in lo...hi

    /// A better f16 scale than the reference block's for codes in lo...hi, with its codes minus lo in
    /// `scratch.codes`; nil when the refit does not beat the reference (`referenceError`). Starts from the
    /// reference's scale and from the largest-magnitude weight at either end of the code range.
    static func symmetric(_ x: UnsafePointer<Float>, lo: Float, hi: Float, referenceScale: UInt16, referenceError: Float,
                          scratch s: Scratch) -> UInt16? {
        var amax: Float = 0, max: Float = 0
        for i in 0..<32 where abs(x[i]) > amax { amax = abs(x[i]); max = x[i] }
        guard amax > 0, referenceError.isFinite else { return nil }
        var bestBits: UInt16? = nil, bestError = referenceError * margin
        func descend(from start: UInt16) {
            var bits = start
            for _ in 0..<steps {
                let t = roundSymmetric(x, s.weights, lo: lo, hi: hi, scale: GGMLF16.decode(bits))
                if t.error < bestError { bestError = t.error; bestBits = bits }
                guard t.qq > 0 else { return }
                let next = GGMLF16.encode(t.xq / t.qq)
                if next == bits { return }
                bits = next
            }
        }
        let maxAtLow = GGMLF16.encode(max / lo), maxAtHigh = GGMLF16.encode(max / hi)
        descend(from: referenceScale)
        if maxAtLow != referenceScale { descend(from: maxAtLow) }
        if maxAtHigh != referenceScale && maxAtHigh != maxAtLow { descend(from: maxAtHigh) }
        if let bestBits { storeSymmetricCodes(x, lo: lo, hi: hi, scale: GGMLF16.decode(bestBits), into: s.codes) }
        return bestBits
    }

    /// The nearest codes at scale d, their error and the sums Σw·x·c and Σw·c² of their least-squares scale.
    @inline(__always)
    static func roundSymmetric(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, lo: Float, hi: Float,
                               scale d: Float) -> (error: Float, xq: Float, qq: Float) {
        let inverse = Lanes(repeating: d != 0 ? 1 / d : 0), dv = Lanes(repeating: d)
        var error = Lanes(), xq = Lanes(), qq = Lanes()
        for k in 0..<4 {
            let xv = load(x, k), wv = load(w, k)
            let q = nearest(xv * inverse, lo: lo, hi: hi)
            let r = xv - q * dv
            error += wv * r * r
            let wq = wv * q
            xq += wq * xv
            qq += wq * q
        }
        return (error.sum(), xq.sum(), qq.sum())
    }

    static func storeSymmetricCodes(_ x: UnsafePointer<Float>, lo: Float, hi: Float, scale d: Float, into codes: UnsafeMutablePointer<UInt8>) {
        let inverse = Lanes(repeating: d != 0 ? 1 / d : 0)
        for k in 0..<4 { storeCodes(nearest(load(x, k) * inverse, lo: lo, hi: hi) - Lanes(repeating: lo), codes + 8 * k) }
    }

    // MARK: x ≈ d·c + m, c in 0...hi

    /// A better f16 scale and offset than the reference block's for codes in 0...hi, with its codes in
    /// `scratch.codes`; nil when the refit does not beat the reference (`referenceError`). Starts from the
    /// reference's scale and offset.
    static func affine(_ x: UnsafePointer<Float>, hi: Float, reference: (d: UInt16, m: UInt16), referenceError: Float,
                       scratch s: Scratch) -> (d: UInt16, m: UInt16)? {
        guard referenceError.isFinite else { return nil }
        var sw = Lanes(), sx = Lanes()
        for k in 0..<4 {
            let wv = load(s.weights, k)
            sw += wv
            sx += wv * load(x, k)
        }
        let w = sw.sum(), wx = sx.sum()
        var best: (d: UInt16, m: UInt16)? = nil, bestError = referenceError * margin
        var bits = reference
        for _ in 0..<steps {
            let t = roundAffine(x, s.weights, hi: hi, scale: GGMLF16.decode(bits.d), offset: GGMLF16.decode(bits.m))
            if t.error < bestError { bestError = t.error; best = bits }
            let det = w * t.qq - t.q * t.q
            guard det > 1e-6 * w * t.qq else { break }
            let next = (d: GGMLF16.encode((w * t.xq - wx * t.q) / det), m: GGMLF16.encode((t.qq * wx - t.q * t.xq) / det))
            if next == bits { break }
            bits = next
        }
        if let best {
            let d = GGMLF16.decode(best.d), m = Lanes(repeating: GGMLF16.decode(best.m))
            let inverse = Lanes(repeating: d > 0 ? 1 / d : 0)
            for k in 0..<4 { storeCodes(nearest((load(x, k) - m) * inverse, lo: 0, hi: hi), s.codes + 8 * k) }
        }
        return best
    }

    /// The nearest codes at scale d and offset m, their error and the sums Σw·c, Σw·c², Σw·x·c of their joint
    /// least-squares fit.
    @inline(__always)
    static func roundAffine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, hi: Float, scale d: Float,
                            offset m: Float) -> (error: Float, q: Float, qq: Float, xq: Float) {
        let inverse = Lanes(repeating: d > 0 ? 1 / d : 0), dv = Lanes(repeating: d), mv = Lanes(repeating: m)
        var error = Lanes(), q1 = Lanes(), qq = Lanes(), xq = Lanes()
        for k in 0..<4 {
            let xv = load(x, k), wv = load(w, k)
            let q = nearest((xv - mv) * inverse, lo: 0, hi: hi)
            let r = xv - (q * dv + mv)
            error += wv * r * r
            let wq = wv * q
            q1 += wq
            qq += wq * q
            xq += wq * xv
        }
        return (error.sum(), q1.sum(), qq.sum(), xq.sum())
    }

    // MARK: Helpers

    /// Σ w·(x - y)² over a block, summed as the refits sum their errors.
    static func error(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, weights w: UnsafePointer<Float>) -> Float {
        var e = Lanes()
        for k in 0..<4 {
            let r = load(x, k) - load(y, k)
            e += load(w, k) * r * r
        }
        return e.sum()
    }

    /// Eight consecutive floats from p + 8k.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ k: Int) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 32 * k, as: Lanes.self)
    }

    /// t rounded to the nearest integer in lo...hi (half to even), clamped first so the rounding trick stays exact.
    /// (Comparisons and blends: the stdlib's generic pointwise min and max are calls per lane in a debug build.)
    @inline(__always)
    static func nearest(_ t: Lanes, lo: Float, hi: Float) -> Lanes {
        let loV = Lanes(repeating: lo), hiV = Lanes(repeating: hi), magic = Lanes(repeating: 12_582_912)
        var c = t
        c.replace(with: loV, where: c .< loV)
        c.replace(with: hiV, where: c .> hiV)
        return (c + magic) - magic
    }

    /// Codes held as exact integer floats in 0...255, stored as bytes: 2^23 + q has q in its low mantissa bits.
    @inline(__always)
    static func storeCodes(_ q: Lanes, _ codes: UnsafeMutablePointer<UInt8>) {
        let bits = unsafeBitCast(q + Lanes(repeating: 8_388_608), to: SIMD8<UInt32>.self)
        for k in 0..<8 { codes[k] = UInt8(truncatingIfNeeded: bits[k]) }
    }
}
