import KernelsAVX2

/// Our choice of codes inside a k-quant grid. Every k-quant weight is d * s_j * q - dmin * m_j: f16 super-block
/// scales d and dmin, small integer sub-block scales s_j and mins m_j, and codes q. llama.cpp fits each sub-block
/// on its own, rounds the sub-block scales against the largest, and re-chooses the codes once. Starting from its
/// block we alternate, minimising the weighted squared error exactly in each step:
///   - per sub-block, with d and dmin fixed: the four integer scales around the least-squares fit for the
///     current codes (and the two mins bracketing it), each pair tried with its nearest codes;
///   - per super-block, with s_j, m_j and codes fixed: d and dmin by weighted least squares, the f16 values
///     bracketing it tried with re-chosen codes.
/// Each step keeps its old values unless the error drops, and the block written is llama.cpp's where ours is not
/// strictly better, so our error is never above the reference's.

/// A k-quant type as the search sees it: its grid and the unpacked form of its block (and so, with its scales
/// fixed, GPTQ's view of it: GGMLFixedGrid.swift).
protocol KQuantGrid: GGMLFixedGridCodec {
    /// Weights per sub-block (16 or 32).
    static var subBlockSize: Int { get }
    /// Codes q, sub-block scales s and mins m (mins: 0...0 where the type has none).
    static var codeRange: ClosedRange<Int32> { get }
    static var scaleRange: ClosedRange<Int32> { get }
    static var minRange: ClosedRange<Int32> { get }
    static func unpack(_ block: UnsafeRawPointer, into grid: inout KQuantBlockValues)
    static func pack(_ grid: KQuantBlockValues, into block: UnsafeMutableRawPointer)
    /// Without importance, the per-weight error weights llama.cpp's reference fits with (|x|, x^2, ...): we
    /// minimise the same objective, better. Plain squared error lowered the weight error but raised tiny-llama's
    /// KL at Q2_K by half (0.047 against the reference's 0.031): it traded the large weights' accuracy away.
    static func referenceWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>)
}

extension KQuantGrid {
    /// Our codes: llama.cpp's block refined inside the same grid, kept only where it is better.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        KQuantSearch.refine(Self.self, x, importance: importance, into: block)
    }

    /// |x| plus the sub-block's RMS (Q4_K and Q5_K's reference fits).
    static func absPlusRMSWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) {
        let n = subBlockSize
        for j in 0..<(256 / n) {
            var sum: Float = 0
            for l in 0..<n { sum += x[n * j + l] * x[n * j + l] }
            let rms = (sum / Float(n)).squareRoot()
            for l in 0..<n { w[n * j + l] = rms + abs(x[n * j + l]) }
        }
    }
    static func squareWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) {
        for i in 0..<256 { w[i] = x[i] * x[i] }
    }
    static func absWeights(_ x: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) {
        for i in 0..<256 { w[i] = abs(x[i]) }
    }
}

/// One super-block unpacked: weight e is d * scales[e / n] * codes[e] - dmin * mins[e / n], all values exact
/// integers held as Float (d and dmin exactly representable in f16).
struct KQuantBlockValues {
    var d: Float = 0
    var dmin: Float = 0
    let codes: UnsafeMutablePointer<Float>
    let scales: UnsafeMutablePointer<Float>
    let mins: UnsafeMutablePointer<Float>
}

enum KQuantSearch {
    static let roundingMagic: Float = 12_582_912
    /// Alternations of the sub-block and super-block steps: one refit from the reference block; a second lowers the
    /// error by under 1% of it at a fifth more time.
    static let rounds = 1

    static func refine<T: KQuantGrid>(_ type: T.Type, _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?,
                                      into block: UnsafeMutableRawPointer) {
        T.quantizeReference(x, importance: importance, into: block)
        let n = T.subBlockSize, count = 256 / n
        let lo = Float(T.codeRange.lowerBound), hi = Float(T.codeRange.upperBound)
        let scaleLo = Float(T.scaleRange.lowerBound), scaleHi = Float(T.scaleRange.upperBound)
        let minLo = Float(T.minRange.lowerBound), minHi = Float(T.minRange.upperBound)
        let hasMins = minHi > minLo
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 * 3 + 32) { floats in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: T.blockBytes) { candidate in
                let w = floats.baseAddress!, y = w + 256
                if let importance { GGMLReferenceSearch.searchWeights(importance: importance, count: 256, into: w) } else { T.referenceWeights(x, into: w) }
                var v = KQuantBlockValues(codes: y + 256, scales: y + 512, mins: y + 528)
                T.unpack(block, into: &v)
                for _ in 0..<rounds {
                    for j in 0..<count {
                        subBlockStep(x + n * j, w + n * j, n: n, codes: v.codes + n * j, scale: &v.scales[j], min: &v.mins[j],
                                     d: v.d, dmin: v.dmin, lo: lo, hi: hi, scaleLo: scaleLo, scaleHi: scaleHi,
                                     minLo: minLo, minHi: minHi, hasMins: hasMins)
                    }
                    superBlockStep(x, w, n: n, values: &v, lo: lo, hi: hi, hasMins: hasMins)
                }
                let out = UnsafeMutableRawPointer(candidate.baseAddress!)
                T.pack(v, into: out)
                if blockError(T.self, out, x, w, scratch: y) < blockError(T.self, block, x, w, scratch: y) {
                    block.copyMemory(from: out, byteCount: T.blockBytes)
                }
            }
        }
    }

    /// Weighted squared error of a block as dequantize decodes it.
    static func blockError<T: GGMLBlockCodec>(_ type: T.Type, _ block: UnsafeRawPointer, _ x: UnsafePointer<Float>,
                                              _ w: UnsafePointer<Float>, scratch y: UnsafeMutablePointer<Float>) -> Double {
        T.dequantize(block, into: y)
        var e = SIMD8<Double>()
        let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(w), yr = UnsafeRawPointer(y)
        for i in stride(from: 0, to: 256, by: 8) {
            let r = SIMD8<Double>(yr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
                - SIMD8<Double>(xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            e += SIMD8<Double>(wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)) * r * r
        }
        return e.sum()
    }

    /// Weighted squared error of one sub-block under y = a * q - b with the nearest codes in lo...hi; writes the
    /// codes when `codes` is given. KernelsAVX2 runs the same loop where the CPU has AVX2.
    @inline(__always)
    static func subBlockError(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, a: Float, b: Float,
                              lo: Float, hi: Float, codes: UnsafeMutablePointer<Float>?, avx2: Bool = AVX2Kernels.available) -> Float {
        if avx2 { return uqcit_avx2_sub_block_error(x, w, n, a, b, lo, hi, codes) }
        let ia: Float = a != 0 ? 1 / a : 0
        let va = SIMD8<Float>(repeating: a), vb = SIMD8<Float>(repeating: b), via = SIMD8<Float>(repeating: ia)
        let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
        let magic = SIMD8<Float>(repeating: roundingMagic)
        var acc = SIMD8<Float>()
        let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(w)
        var i = 0
        while i < n {
            let xv = xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let wv = wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            var t = (xv + vb) * via
            t.replace(with: vlo, where: t .< vlo)
            t.replace(with: vhi, where: t .> vhi)
            let q = (t + magic) - magic
            if let codes { UnsafeMutableRawPointer(codes).storeBytes(of: q, toByteOffset: 4 * i, as: SIMD8<Float>.self) }
            let r = (va * q - vb) - xv
            acc += wv * r * r
            i += 8
        }
        return acc.sum()
    }

    /// Best integer scale (and min) for one sub-block with d and dmin fixed, among the current pair, the four
    /// integer scales around the least-squares fit to the current codes and the two mins bracketing it; leaves the
    /// winner's codes in `codes`. KernelsAVX2 runs the same step where the CPU has AVX2.
    static func subBlockStep(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, codes: UnsafeMutablePointer<Float>,
                             scale: inout Float, min: inout Float, d: Float, dmin: Float, lo: Float, hi: Float,
                             scaleLo: Float, scaleHi: Float, minLo: Float, minHi: Float, hasMins: Bool,
                             avx2: Bool = AVX2Kernels.available) {
        if avx2 {
            uqcit_avx2_sub_block_step(x, w, n, codes, &scale, &min, d, dmin, lo, hi, scaleLo, scaleHi, minLo, minHi, hasMins ? 1 : 0)
            return
        }
        if d == 0 { return }
        var best = subBlockError(x, w, n: n, a: d * scale, b: dmin * min, lo: lo, hi: hi, codes: codes, avx2: avx2)
        for _ in 0..<2 {
            let (sw, sq, sqq, sx, sqx) = fitSums(x, w, codes, n: n)
            // y = sigma * q - mu; mu = 0 where the type has no mins or the fit wants a negative one.
            var sigma: Float, mu: Float = 0
            let det = sq * sq - sqq * sw
            if hasMins && dmin != 0 && det != 0 {
                sigma = (sq * sx - sw * sqx) / det
                mu = (sqq * sx - sq * sqx) / det
                if mu < 0 { mu = 0; sigma = sqq > 0 ? sqx / sqq : 0 }
            } else {
                guard sqq > 0 else { return }
                mu = dmin * min
                sigma = (sqx + mu * sq) / sqq
            }
            let s0 = (sigma / d).rounded(.down)
            let m0 = hasMins && dmin != 0 ? (mu / dmin).rounded(.down) : min
            var bestScale = scale, bestMin = min
            for ds in -1...2 {
                let s = Swift.min(Swift.max(s0 + Float(ds), scaleLo), scaleHi)
                for dm in 0...(hasMins && dmin != 0 ? 1 : 0) {
                    let m = Swift.min(Swift.max(m0 + Float(dm), minLo), minHi)
                    if s == bestScale && m == bestMin { continue }
                    let e = subBlockError(x, w, n: n, a: d * s, b: dmin * m, lo: lo, hi: hi, codes: nil, avx2: avx2)
                    if e < best { best = e; bestScale = s; bestMin = m }
                }
            }
            if bestScale == scale && bestMin == min { return }
            scale = bestScale; min = bestMin
            _ = subBlockError(x, w, n: n, a: d * scale, b: dmin * min, lo: lo, hi: hi, codes: codes, avx2: avx2)
        }
    }

    /// Σw, Σwq, Σwq², Σwx and Σwqx over one sub-block (n a multiple of 8), in SIMD lanes.
    @inline(__always)
    static func fitSums(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ codes: UnsafePointer<Float>,
                        n: Int) -> (Float, Float, Float, Float, Float) {
        var sw = SIMD8<Float>(), sq = sw, sqq = sw, sx = sw, sqx = sw
        let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(w), qr = UnsafeRawPointer(codes)
        var i = 0
        while i < n {
            let xv = xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let wv = wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let qv = qr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let wq = wv * qv
            sw += wv; sq += wq; sqq += wq * qv; sx += wv * xv; sqx += wq * xv
            i += 8
        }
        return (sw.sum(), sq.sum(), sqq.sum(), sx.sum(), sqx.sum())
    }

    /// Re-fits d and dmin by weighted least squares with the sub-block scales, mins and codes fixed, and keeps
    /// the f16 pair bracketing the fit that has the lowest error with re-chosen codes, if it beats the current.
    static func superBlockStep(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, values v: inout KQuantBlockValues,
                               lo: Float, hi: Float, hasMins: Bool) {
        let count = 256 / n
        // y = d * u - dmin * m with u = s_j * q.
        var suu: Float = 0, sum: Float = 0, smm: Float = 0, sux: Float = 0, smx: Float = 0
        for j in 0..<count {
            let s = v.scales[j], m = v.mins[j]
            let (tw, tu, tuu, tx, tux) = fitSums(x + n * j, w + n * j, v.codes + n * j, n: n)
            suu += s * s * tuu; sum += s * m * tu; smm += m * m * tw; sux += s * tux; smx += m * tx
        }
        var d: Float, dmin: Float = v.dmin
        let det = sum * sum - suu * smm
        if hasMins && det != 0 {
            d = (sum * smx - smm * sux) / det
            dmin = (sum * sux - suu * smx) / det
        } else {
            guard suu > 0 else { return }
            d = (sux + v.dmin * sum) / suu
        }
        var best = totalError(x, w, n: n, v: v, d: v.d, dmin: v.dmin, lo: lo, hi: hi, codes: nil)
        var bestD = v.d, bestDmin = v.dmin
        let dCandidates = f16Bracket(d), dminCandidates = hasMins ? f16Bracket(dmin) : (v.dmin, v.dmin)
        for k in 0..<4 {
            let cd = k & 1 == 0 ? dCandidates.0 : dCandidates.1, cm = k & 2 == 0 ? dminCandidates.0 : dminCandidates.1
            do {
                if cd == bestD && cm == bestDmin { continue }
                let e = totalError(x, w, n: n, v: v, d: cd, dmin: cm, lo: lo, hi: hi, codes: nil)
                if e < best { best = e; bestD = cd; bestDmin = cm }
            }
        }
        if bestD == v.d && bestDmin == v.dmin { return }
        v.d = bestD; v.dmin = bestDmin
        _ = totalError(x, w, n: n, v: v, d: v.d, dmin: v.dmin, lo: lo, hi: hi, codes: v.codes)
    }

    static func totalError(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, v: KQuantBlockValues,
                           d: Float, dmin: Float, lo: Float, hi: Float, codes: UnsafeMutablePointer<Float>?) -> Float {
        var e: Float = 0
        for j in 0..<(256 / n) {
            e += subBlockError(x + n * j, w + n * j, n: n, a: d * v.scales[j], b: dmin * v.mins[j], lo: lo, hi: hi,
                               codes: codes.map { $0 + n * j })
        }
        return e
    }

    /// The f16 values just below and just above `value` (equal when it is one), as Float.
    static func f16Bracket(_ value: Float) -> (Float, Float) {
        guard value.isFinite else { return (0, 0) }
        let h = Float16(value), f = Float(h)
        if f == value { return (f, f) }
        return f < value ? (f, Float(h.nextUp)) : (Float(h.nextDown), f)
    }
}
