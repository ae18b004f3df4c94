/// The helpers llama.cpp's ggml-quants.c shares between its own quantizers (nearest_int, best_index_int8,
/// make_qx_quants, make_qkx3_quants, the importance weights), in ggml's float operation order so the reference
/// paths pick the same codes. Evaluated as written, without fused multiply-adds (a compiler that contracts them
/// into FMAs can move a near-tie in llama.cpp's own build).
enum GGMLReferenceSearch {
    /// nearest_int: adding 1.5·2^23 leaves the rounded integer in the low mantissa bits (half to even; ggml only
    /// calls it for |x| < 2^22).
    @inline(__always)
    static func nearestInt(_ x: Float) -> Int32 {
        Int32(bitPattern: (x + 12_582_912).bitPattern & 0x007F_FFFF) - 0x0040_0000
    }

    /// best_index_int8: the index of the level nearest to `x` in a sorted table of `count` (a power of two) levels;
    /// x picks level j once 2x reaches level[j-1] + level[j], both sides exact.
    @inline(__always)
    static func nearestLevel(_ levels: UnsafePointer<Int8>, count: Int, _ x: Float) -> Int {
        let x2 = x + x
        var index = 0
        var step = count >> 1
        while step > 0 {
            let j = index + step
            if x2 >= Float(Int(levels[j - 1]) + Int(levels[j])) { index = j }
            step >>= 1
        }
        return index
    }

    /// The mean square over a row, the sigma2 the legacy importance paths add under the square root.
    static func meanSquare(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for j in 0..<count { sum += x[j] * x[j] }
        return sum / Float(count)
    }

    /// Our searches' per-weight error weights from an importance matrix: the importance itself, the diagonal of
    /// the layer's input second moments, so the fit minimises (a diagonal estimate of) the output error.
    @inline(__always)
    static func searchWeights(importance: UnsafePointer<Float>, count: Int, into weight: UnsafeMutablePointer<Float>) {
        weight.update(from: importance, count: count)
    }

    /// The importance paths' weights: importance·sqrt(sigma2 + x²).
    @inline(__always)
    static func importanceWeights(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, sigma2: Float, count: Int,
                                  into weight: UnsafeMutablePointer<Float>) {
        for j in 0..<count { weight[j] = importance[j] * (sigma2 + x[j] * x[j]).squareRoot() }
    }

    /// make_qx_quants with rmse_type 1 and weights: codes L[i] in 0..<2·nmax (value L - nmax) and the scale, from
    /// the largest-magnitude weight mapped to -nmax and eighteen nearby inverse scales, each fitted by least squares.
    static func symmetricScale(_ x: UnsafePointer<Float>, count n: Int, nmax: Int32, weights qw: UnsafePointer<Float>,
                               codes L: UnsafeMutablePointer<UInt8>) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); max = x[i] }
        if amax < 1e-15 {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let fmax = Float(nmax)
        var iscale = Float(-nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            L[i] = UInt8(l + nmax)
            let fl = Float(l)
            sumlx += qw[i] * x[i] * fl
            suml2 += qw[i] * fl * fl
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(fmax + 0.1 * Float(step)) / max
            sumlx = 0; suml2 = 0
            for i in 0..<n {
                let fl = Float(Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i]))))
                sumlx += qw[i] * x[i] * fl
                suml2 += qw[i] * fl * fl
            }
            if suml2 > 0, sumlx * sumlx > best * suml2 {
                for i in 0..<n { L[i] = UInt8(Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i]))) + nmax) }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// make_qkx3_quants with weights and squared error (use_mad false): codes 0...nmax, x ≈ scale·L + min with min
    /// at most 0, from nstep+1 inverse scales (rmin + rdelta·k + nmax)/(max - min), each refitted by weighted least
    /// squares in scale and min; later steps start from the best min so far, as in ggml. Returns (scale, min).
    static func affineScale(_ x: UnsafePointer<Float>, count n: Int, nmax: Int32, weights: UnsafePointer<Float>,
                            codes L: UnsafeMutablePointer<UInt8>, scratch Laux: UnsafeMutablePointer<UInt8>,
                            rmin: Float, rdelta: Float, nstep: Int) -> (scale: Float, min: Float) {
        var min = x[0], max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            sumW += weights[i]
            sumX += weights[i] * x[i]
        }
        if min > 0 { min = 0 }
        if max <= min {
            for i in 0..<n { L[i] = 0 }
            return (0, min)
        }
        let fmax = Float(nmax)
        var iscale = fmax / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - min))))
            L[i] = UInt8(l)
            let diff = scale * Float(l) + min - x[i]
            bestError += weights[i] * (diff * diff)
        }
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + fmax) / (max - min)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let v = iscale * (x[i] - min)
                let l: Int32 = v > 0 ? nearestInt(v < fmax ? v : fmax) : 0
                Laux[i] = UInt8(l)
                let fl = Float(l)
                sumL += weights[i] * fl
                sumL2 += weights[i] * fl * fl
                sumXL += weights[i] * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            guard D > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                let diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                error += weights[i] * (diff * diff)
            }
            if error < bestError {
                for i in 0..<n { L[i] = Laux[i] }
                bestError = error
                scale = thisScale
                min = thisMin
            }
        }
        return (scale, min)
    }
}
