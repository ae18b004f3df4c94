/// SymmetricScaleSearch with a weight per element: the same candidate spans and least-squares refits, scoring
/// Σ wᵢ (xᵢ - qᵢ d)² and refitting d = Σ wᵢ xᵢ qᵢ / Σ wᵢ qᵢ², as llama.cpp's imatrix-guided make_qx_quants. With
/// diag(H) as weights this is the data-aware alternative to GPTQ that needs no error feedback.
package struct ImportanceScaleSearch {
    package let plain: SymmetricScaleSearch

    package init(format: QuantFormat) {
        plain = SymmetricScaleSearch(format: format)
    }

    /// The stored scale (f16 bits) for the `count` values at `x`, weighted by `importance` (non-negative).
    package func search(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, count: Int) -> UInt16 {
        var amax: Float = 0
        for i in 0..<count { amax = Swift.max(amax, abs(x[i])) }
        guard amax > 0 else { return 0 }
        let maxCode = plain.maxCode
        let floor = plain.keepsHalfStepBound ? amax / (maxCode + 0.5) : 0

        var best = measure(x, importance, count, scale: storedScale(amax / maxCode, floor: floor))
        for k in 0..<plain.steps {
            let span = (maxCode + 0.5) * (plain.firstRatio + plain.ratioStep * Float(k))
            let candidate = measure(x, importance, count, scale: storedScale(amax / span, floor: floor))
            if candidate.error < best.error { best = candidate }
        }
        for _ in 0..<plain.refits {
            guard best.sumWQ2 > 0 else { break }
            let candidate = measure(x, importance, count, scale: storedScale(Float(best.sumWXQ / best.sumWQ2), floor: floor))
            guard candidate.error < best.error else { break }
            best = candidate
        }
        return best.scale
    }

    private func storedScale(_ d: Float, floor: Float) -> UInt16 {
        var bits = HalfPrecision.floatToF16(Swift.max(d, floor))
        while HalfPrecision.f16ToFloat(bits) < floor { bits += 1 }
        return bits
    }

    private struct Candidate {
        var scale: UInt16
        var error: Double
        var sumWXQ: Double
        var sumWQ2: Double
    }

    private func measure(_ x: UnsafePointer<Float>, _ importance: UnsafePointer<Float>, _ count: Int, scale: UInt16) -> Candidate {
        let d = HalfPrecision.f16ToFloat(scale)
        let inverse: Float = d > 0 ? 1 / d : 0
        var c = Candidate(scale: scale, error: 0, sumWXQ: 0, sumWQ2: 0)
        for i in 0..<count {
            let q = GroupLanes.roundedToNearest(GroupLanes.clamp(x[i] * inverse, -plain.maxCode, plain.maxCode))
            let r = Double(x[i] - q * d), w = Double(importance[i])
            c.error += w * r * r
            c.sumWXQ += w * Double(x[i] * q)
            c.sumWQ2 += w * Double(q * q)
        }
        return c
    }
}
