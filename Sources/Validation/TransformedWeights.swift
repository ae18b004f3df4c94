import Foundation
import Engine
import Runtime

/// A weight provider that changes chosen tensors of another (noise, round-to-nearest): the ablations that need
/// no package. Whole tensors are transformed once and kept, so every row read sees the same values.
public final class TransformedWeights: WeightProvider, @unchecked Sendable {
    public let base: WeightProvider
    public let label: String
    private let transform: (String, [Float], [Int]) -> [Float]?
    private var cache: [String: [Float]] = [:]
    private let lock = NSLock()

    /// `transform(name, values, shape)` returns the new values, or nil to leave the tensor as it is.
    public init(_ base: WeightProvider, label: String, transform: @escaping (String, [Float], [Int]) -> [Float]?) {
        self.base = base; self.label = label; self.transform = transform
    }

    public var config: JSONValue { base.config }
    public func shape(of name: String) -> [Int]? { base.shape(of: name) }

    public func rows(_ name: String, start: Int, count: Int) throws -> [Float] {
        guard let s = base.shape(of: name), s.count >= 2 else { return try base.rows(name, start: start, count: count) }
        lock.lock()
        let cached = cache[name]
        lock.unlock()
        let all: [Float]
        if let cached { all = cached } else {
            let v = try base.rows(name, start: 0, count: s[0])
            all = transform(name, v, s) ?? v
            lock.lock(); cache[name] = all; lock.unlock()
        }
        let cols = all.count / s[0]
        return Array(all[start * cols..<(start + count) * cols])
    }
}

/// The noise-resistance probe: Gaussian noise with standard deviation `level` times the tensor's RMS,
/// seeded by the tensor's name and the level.
public enum NoiseInjection {
    public static func apply(_ v: [Float], level: Double, name: String) -> [Float] {
        guard level > 0 else { return v }
        let rms = (v.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(v.count, 1))).squareRoot()
        var g = SplitMix64(seed: SeedDerivation.seed(for: name, salt: UInt64(level * 1_000_000)))
        var out = v
        var i = 0
        while i < out.count {
            let u1 = max(Double(g.next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(g.next() >> 11) / Double(1 << 53)
            let r = (-2 * log(u1)).squareRoot() * rms * level
            out[i] += Float(r * cos(2 * .pi * u2))
            if i + 1 < out.count { out[i + 1] += Float(r * sin(2 * .pi * u2)) }
            i += 2
        }
        return out
    }
}

/// Plain round-to-nearest as the tiny-llama reference.py defines it: symmetric, per row, groups along the
/// input dimension, scale = max|w| / qmax, round half to even. The baseline every method must beat.
public enum RoundToNearest {
    public static func apply(_ w: [Float], cols: Int, bits: Int, group: Int?) -> [Float] {
        let qmax = Float((1 << (bits - 1)) - 1)
        let g = group ?? cols
        var out = w
        for r in 0..<(w.count / cols) {
            for g0 in stride(from: 0, to: cols, by: g) {
                let range = (r * cols + g0)..<(r * cols + min(cols, g0 + g))
                var m: Float = 0
                for i in range { m = max(m, abs(w[i])) }
                let scale = m == 0 ? 1 : m / qmax
                for i in range { out[i] = min(max((w[i] / scale).rounded(.toNearestOrEven), -qmax), qmax) * scale }
            }
        }
        return out
    }

    /// Bits per weight of a group-wise RTN tensor: codes plus one 16-bit scale per group.
    public static func bitsPerWeight(bits: Int, group: Int?, cols: Int) -> Double {
        Double(bits) + 16 / Double(group ?? cols)
    }
}
