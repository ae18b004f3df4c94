/// Error-minimising (d, m) for one group of an asymmetric format, w ≈ q * d + m with q in 0...maxCode,
/// in the manner of llama.cpp's make_qkx2_quants: a grid of candidate ranges around [min, max], each
/// followed by a least-squares refit of (d, m) to the codes it gives, then codes reassigned against the
/// refit values rounded to f16 (what is stored); then refit-reassign rounds on the winner (as HQQ iterates).
/// Plain min/max rounding is the first candidate, so the result is never worse than it.
/// Every error is measured with the stored f16 values, so the winner is the best of what can be written.
struct AsymmetricScaleSearch {
    typealias Lanes = GroupLanes.Lanes

    let maxCode: Float
    /// Candidate code spans maxCode - 1 + 0.25 k (k < 12) over [min, max]; a span above maxCode shrinks the
    /// step, clipping the extremes for finer steps inside. Measured on Gaussian groups: a finer grid
    /// (20 steps of 0.1) gains under 0.01 dB, while the refits below gain 0.1 (int4) to 0.4 dB (int2).
    let firstSpan: Float = -1
    let spanStep: Float = 0.25
    let steps = 12
    /// Refit-reassign rounds on the winner; they stop at the first that does not lower the error.
    let refits = 8

    init(format: QuantFormat) {
        maxCode = Float(format.maxCode(symmetric: false))
    }

    /// The stored scale and min (f16 bits) for the `count` values at `x`.
    func search(_ x: UnsafePointer<Float>, count: Int) -> (scale: UInt16, min: UInt16) {
        var low = Lanes(repeating: x[0])
        var high = low
        var sum = Lanes()
        GroupLanes.forEach(x, count: count, padding: x[0]) { v, w in
            low = GroupLanes.minimum(low, v)
            high = GroupLanes.maximum(high, v)
            sum += v * w
        }
        let lowest = low.min()
        let range = high.max() - lowest
        guard range > 0 else {
            return (0, HalfPrecision.floatToF16(lowest))
        }
        let sumX = Double(sum.sum())
        let n = Double(count)

        var best = measure(x, count: count, scale: HalfPrecision.floatToF16(range / maxCode), min: HalfPrecision.floatToF16(lowest))
        for k in 0..<steps {
            let inverseScale = (maxCode + firstSpan + spanStep * Float(k)) / range
            var sumL = Lanes(), sumL2 = Lanes(), sumXL = Lanes()
            GroupLanes.forEach(x, count: count) { v, w in
                let l = GroupLanes.roundedToNearest(GroupLanes.clamp((v - lowest) * inverseScale, 0, maxCode)) * w
                sumL += l
                sumL2 += l * l
                sumXL += v * l
            }
            guard let fit = leastSquares(sumL: sumL, sumL2: sumL2, sumXL: sumXL, sumX: sumX, n: n) else { continue }
            let candidate = measure(x, count: count, scale: fit.scale, min: fit.min)
            if candidate.error < best.error { best = candidate }
        }
        for _ in 0..<refits {
            guard let fit = leastSquares(sumL: best.sumL, sumL2: best.sumL2, sumXL: best.sumXL, sumX: sumX, n: n) else { break }
            let candidate = measure(x, count: count, scale: fit.scale, min: fit.min)
            guard candidate.error < best.error else { break }
            best = candidate
        }
        return (best.scale, best.min)
    }

    /// Codes for stored (d, m): the same arithmetic `measure` uses, so measured error is what is written.
    func assign(_ x: UnsafePointer<Float>, count: Int, scale: UInt16, min: UInt16, into codes: UnsafeMutablePointer<UInt8>) {
        let d = HalfPrecision.f16ToFloat(scale)
        let m = HalfPrecision.f16ToFloat(min)
        let inverse: Float = d > 0 ? 1 / d : 0
        for i in 0..<count {
            codes[i] = UInt8(GroupLanes.roundedToNearest(GroupLanes.clamp((x[i] - m) * inverse, 0, maxCode)))
        }
    }

    private struct Candidate {
        var scale: UInt16
        var min: UInt16
        var error: Float
        var sumL: Lanes
        var sumL2: Lanes
        var sumXL: Lanes
    }

    /// Squared error of the group under stored (d, m), plus the code sums a refit needs.
    @inline(__always)
    private func measure(_ x: UnsafePointer<Float>, count: Int, scale: UInt16, min: UInt16) -> Candidate {
        let d = HalfPrecision.f16ToFloat(scale)
        let m = HalfPrecision.f16ToFloat(min)
        let inverse: Float = d > 0 ? 1 / d : 0
        var error = Lanes(), sumL = Lanes(), sumL2 = Lanes(), sumXL = Lanes()
        GroupLanes.forEach(x, count: count) { v, w in
            let l = GroupLanes.roundedToNearest(GroupLanes.clamp((v - m) * inverse, 0, maxCode))
            let r = (v - (l * d + m)) * w
            error += r * r
            let lw = l * w
            sumL += lw
            sumL2 += lw * lw
            sumXL += v * lw
        }
        return Candidate(scale: scale, min: min, error: error.sum(), sumL: sumL, sumL2: sumL2, sumXL: sumXL)
    }

    /// Least-squares (d, m) minimising sum (x - l d - m)^2 for fixed codes l, rounded to f16.
    /// The normal equations are solved in Double: n Σl² - (Σl)² cancels heavily.
    @inline(__always)
    private func leastSquares(sumL: Lanes, sumL2: Lanes, sumXL: Lanes, sumX: Double, n: Double) -> (scale: UInt16, min: UInt16)? {
        let l = Double(sumL.sum()), l2 = Double(sumL2.sum()), xl = Double(sumXL.sum())
        let det = n * l2 - l * l
        guard det > 0 else { return nil }
        let d = (n * xl - sumX * l) / det
        let m = (l2 * sumX - l * xl) / det
        guard d > 0 else { return nil }
        return (HalfPrecision.floatToF16(Float(d)), HalfPrecision.floatToF16(Float(m)))
    }
}
