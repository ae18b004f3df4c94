/// Σx², Σ(x - y)² and max |x - y| over two equal-length arrays: what a QUANTIZE tile reports of what it packed.
/// Eight Float lanes over runs of `run` elements, each run's sums added in Double, so the totals keep Double's
/// range for a whole tile at SIMD speed; the order is fixed, so the same inputs give the same bits.
public enum ErrorSums {
    public static let run = 4096  // also in KernelsAVX2/error_sums.c, whose fused loops give these sums

    public static func of(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> (source: Double, error: Double, maxAbs: Float) {
        typealias Lanes = SIMD8<Float>
        var source = 0.0, error = 0.0
        var maxAbs = Lanes(repeating: 0)
        var start = 0
        while start < n {
            let end = min(n, start + run)
            var s = Lanes(repeating: 0), e = Lanes(repeating: 0)
            var i = start
            while i + 8 <= end {
                let a = UnsafeRawPointer(x + i).loadUnaligned(as: Lanes.self)
                let d = a - UnsafeRawPointer(y + i).loadUnaligned(as: Lanes.self)
                // Plain products: addProduct becomes a call to fmaf per lane on a baseline x86-64 target.
                s += a * a
                e += d * d
                let magnitude = d.replacing(with: -d, where: d .< 0)
                maxAbs.replace(with: magnitude, where: maxAbs .< magnitude)
                i += 8
            }
            var sourceRun = Double(s.sum()), errorRun = Double(e.sum())
            while i < end {
                let d = x[i] - y[i]
                sourceRun += Double(x[i]) * Double(x[i]); errorRun += Double(d) * Double(d)
                maxAbs[0] = max(maxAbs[0], abs(d))
                i += 1
            }
            source += sourceRun; error += errorRun
            start = end
        }
        return (source, error, maxAbs.max())
    }
}
