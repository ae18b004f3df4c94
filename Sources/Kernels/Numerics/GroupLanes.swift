/// Eight lanes at a time over one quantization group. The scale searches sum over a group dozens of times;
/// Swift never reassociates Float sums, so a scalar loop would not vectorise. A partial last chunk is filled
/// with `padding` and comes with a 0/1 lane weight, so sums can drop the padded lanes.
package enum GroupLanes {
    package typealias Lanes = SIMD8<Float>

    @inline(__always)
    package static func forEach(_ x: UnsafePointer<Float>, count: Int, padding: Float = 0, _ body: (_ values: Lanes, _ weight: Lanes) -> Void) {
        let full = count & ~7
        let ones = Lanes(repeating: 1)
        var i = 0
        while i < full {
            body(UnsafeRawPointer(x + i).loadUnaligned(as: Lanes.self), ones)
            i += 8
        }
        if full < count {
            var values = Lanes(repeating: padding)
            var weight = Lanes(repeating: 0)
            for lane in 0..<(count - full) {
                values[lane] = x[full + lane]
                weight[lane] = 1
            }
            body(values, weight)
        }
    }

    /// Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 leaves no fraction bits.
    @inline(__always)
    package static func roundedToNearest(_ v: Lanes) -> Lanes {
        let magic = Lanes(repeating: 12_582_912)
        return (v + magic) - magic
    }

    @inline(__always)
    package static func roundedToNearest(_ v: Float) -> Float {
        (v + 12_582_912) - 12_582_912
    }

    /// Compare-and-select; the standard library's pointwiseMin/Max are not inlined and cost 5x more.
    @inline(__always)
    package static func minimum(_ a: Lanes, _ b: Lanes) -> Lanes {
        a.replacing(with: b, where: b .< a)
    }

    @inline(__always)
    package static func maximum(_ a: Lanes, _ b: Lanes) -> Lanes {
        a.replacing(with: b, where: b .> a)
    }

    @inline(__always)
    package static func clamp(_ v: Lanes, _ low: Float, _ high: Float) -> Lanes {
        minimum(maximum(v, Lanes(repeating: low)), Lanes(repeating: high))
    }

    @inline(__always)
    package static func clamp(_ v: Float, _ low: Float, _ high: Float) -> Float {
        Swift.min(Swift.max(v, low), high)
    }
}
