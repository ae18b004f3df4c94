/// Error-minimising scale d for one group of a symmetric format, w ≈ q * d with q in -maxCode...maxCode:
/// a grid of candidate spans over max|w| (how many steps cover it), then least-squares refits
/// d = Σxq / Σq² with codes reassigned, as llama.cpp's make_qx_quants. Errors use the stored f16 d.
/// int8 keeps every candidate at or above amax / (maxCode + 0.5), so even the largest weight is off by at
/// most d / 2 and every element keeps the round-to-nearest bound; narrower formats may clip, which is
/// where most of their gain lies.
package struct SymmetricScaleSearch {
    package typealias Lanes = GroupLanes.Lanes

    package let maxCode: Float
    package let codeOffset: UInt8
    /// Candidate spans (maxCode + 0.5) * (firstRatio + ratioStep * k), k < steps.
    package let firstRatio: Float
    package let ratioStep: Float
    package let steps: Int
    package let keepsHalfStepBound: Bool
    /// Refit-reassign rounds on the winner; they stop at the first that does not lower the error.
    package let refits = 8

    package init(format: QuantFormat) {
        maxCode = Float(format.maxCode(symmetric: true))
        codeOffset = format.symmetricCodeOffset
        keepsHalfStepBound = format == .int8
        if keepsHalfStepBound {
            firstRatio = 1; ratioStep = -0.004; steps = 16
        } else {
            firstRatio = 1.5; ratioStep = -0.05; steps = 16
        }
    }

    /// The stored scale (f16 bits) for the `count` values at `x`.
    package func search(_ x: UnsafePointer<Float>, count: Int) -> UInt16 {
        var high = Lanes()
        GroupLanes.forEach(x, count: count) { v, _ in
            high = GroupLanes.maximum(high, GroupLanes.maximum(v, -v))
        }
        let amax = high.max()
        guard amax > 0 else { return 0 }
        let floor = keepsHalfStepBound ? amax / (maxCode + 0.5) : 0

        var best = measure(x, count: count, scale: storedScale(amax / maxCode, floor: floor))
        for k in 0..<steps {
            let span = (maxCode + 0.5) * (firstRatio + ratioStep * Float(k))
            let candidate = measure(x, count: count, scale: storedScale(amax / span, floor: floor))
            if candidate.error < best.error { best = candidate }
        }
        for _ in 0..<refits {
            let sumQ2 = Double(best.sumQ2.sum())
            guard sumQ2 > 0 else { break }
            let refit = Float(Double(best.sumXQ.sum()) / sumQ2)
            let candidate = measure(x, count: count, scale: storedScale(refit, floor: floor))
            guard candidate.error < best.error else { break }
            best = candidate
        }
        return best.scale
    }

    /// Codes for a stored d (see QuantFormat.symmetricCodeOffset); the same arithmetic `measure` uses.
    package func assign(_ x: UnsafePointer<Float>, count: Int, scale: UInt16, into codes: UnsafeMutablePointer<UInt8>) {
        let d = HalfPrecision.f16ToFloat(scale)
        let inverse: Float = d > 0 ? 1 / d : 0
        for i in 0..<count {
            let q = GroupLanes.roundedToNearest(GroupLanes.clamp(x[i] * inverse, -maxCode, maxCode))
            codes[i] = UInt8(bitPattern: Int8(q)) &+ codeOffset
        }
    }

    /// d rounded to f16; raised to the next f16 up while below `floor` (rounding may have crossed it).
    @inline(__always)
    private func storedScale(_ d: Float, floor: Float) -> UInt16 {
        var bits = HalfPrecision.floatToF16(Swift.max(d, floor))
        while HalfPrecision.f16ToFloat(bits) < floor {
            bits += 1
        }
        return bits
    }

    private struct Candidate {
        var scale: UInt16
        var error: Float
        var sumXQ: Lanes
        var sumQ2: Lanes
    }

    @inline(__always)
    private func measure(_ x: UnsafePointer<Float>, count: Int, scale: UInt16) -> Candidate {
        let d = HalfPrecision.f16ToFloat(scale)
        let inverse: Float = d > 0 ? 1 / d : 0
        var error = Lanes(), sumXQ = Lanes(), sumQ2 = Lanes()
        // Padded lanes hold 0, which quantizes to q = 0 with no error: they add nothing to any sum.
        GroupLanes.forEach(x, count: count) { v, _ in
            let q = GroupLanes.roundedToNearest(GroupLanes.clamp(v * inverse, -maxCode, maxCode))
            let r = v - q * d
            error += r * r
            sumXQ += v * q
            sumQ2 += q * q
        }
        return Candidate(scale: scale, error: error.sum(), sumXQ: sumXQ, sumQ2: sumQ2)
    }
}
