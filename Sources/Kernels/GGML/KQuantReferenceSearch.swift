import KernelsAVX2

/// llama.cpp's searches for one group's scale (and min) and its codes, shared by the k-quant reference paths
/// (ggml-quants.c: make_qx_quants, make_qkx2_quants, make_qkx3_quants, make_qp_quants). Their float arithmetic
/// is kept in llama.cpp's order so the reference blocks are the ones llama-quantize writes.
enum KQuantReferenceSearch {
    /// Below this a group counts as all zero (GROUP_MAX_EPS).
    static let groupMaxEps: Float = 1e-15

    /// Symmetric codes in -nmax..<nmax (stored plus nmax in `codes`) for one group, weights `weights` or x^2 when
    /// nil (make_qx_quants with rmse_type 1): the least-squares scale for nineteen trial inverse scales around
    /// -nmax / max, the best kept. Returns the scale.
    static func symmetricScale(_ n: Int, nmax: Int32, _ x: UnsafePointer<Float>, codes: UnsafeMutablePointer<Int8>,
                               weights: UnsafePointer<Float>?) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; max = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0..<n { codes[i] = 0 }
            return 0
        }
        let nmaxF = Float(nmax)
        @inline(__always) func code(_ iscale: Float, _ i: Int) -> Int32 {
            Swift.max(-nmax, Swift.min(nmax - 1, KQuantScales.nearestInt(iscale * x[i])))
        }
        @inline(__always) func weight(_ i: Int) -> Float { weights.map { $0[i] } ?? x[i] * x[i] }
        let iscale = -nmaxF / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = code(iscale, i)
            codes[i] = Int8(truncatingIfNeeded: l + nmax)
            let w = weight(i), lf = Float(l)
            sumlx += w * x[i] * lf
            suml2 += w * lf * lf
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        // The eighteen trials (steps -9...9 but 0) run eight at a time, one per SIMD lane, each lane summing in
        // llama.cpp's order; a trial's sums do not depend on earlier winners, so the lanes are then compared one by
        // one in step order exactly as llama.cpp compares them.
        let laneSteps = SIMD8<Float>(0, 1, 2, 3, 4, 5, 6, 7)
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let lowest = SIMD8<Int32>(repeating: -nmax), highest = SIMD8<Int32>(repeating: nmax - 1)
        for firstStep in stride(from: -9, through: 9, by: 8) {
            let iscales = -(nmaxF + 0.1 * (laneSteps + Float(firstStep))) / max
            var sumlxs = SIMD8<Float>(), suml2s = SIMD8<Float>()
            for i in 0..<n {
                // nearest_int lane by lane, as KQuantScales.nearestInt.
                let bits = unsafeBitCast(iscales * x[i] + magic, to: SIMD8<Int32>.self)
                var nearest = (bits & 0x007F_FFFF) &- 0x0040_0000
                nearest.replace(with: lowest, where: nearest .< lowest)
                nearest.replace(with: highest, where: nearest .> highest)
                let l = SIMD8<Float>(nearest)
                let w = weight(i)
                sumlxs += w * x[i] * l
                suml2s += w * l * l
            }
            for k in 0..<8 {
                let step = firstStep + k
                guard step != 0, step <= 9 else { continue }
                if suml2s[k] > 0 && sumlxs[k] * sumlxs[k] > best * suml2s[k] {
                    for i in 0..<n { codes[i] = Int8(truncatingIfNeeded: code(iscales[k], i) + nmax) }
                    scale = sumlxs[k] / suml2s[k]
                    best = scale * sumlxs[k]
                }
            }
        }
        return scale
    }

    /// symmetricScale for eight consecutive groups of n weights (group j at x + n * j, its weights, if any, at
    /// weights + n * j, its codes to codes + n * j): scales[j]. Where the CPU has AVX2 the eight run side by side, one
    /// per lane, each in symmetricScale's order, so the results are the same bits.
    static func symmetricScales(_ n: Int, nmax: Int32, _ x: UnsafePointer<Float>, codes: UnsafeMutablePointer<Int8>,
                                weights: UnsafePointer<Float>?, scales: UnsafeMutablePointer<Float>, avx2: Bool = AVX2Kernels.available) {
        if avx2 && n <= 32 {
            uqcit_avx2_symmetric_groups(n, nmax, x, weights, codes, scales)
            return
        }
        for j in 0..<8 {
            scales[j] = symmetricScale(n, nmax: nmax, x + n * j, codes: codes + n * j, weights: weights.map { $0 + n * j })
        }
    }

    /// Codes 0...nmax, a scale and a min (returned as `-min`, so y = scale * code - min) for one group
    /// (make_qkx2_quants, and make_qkx3_quants when `absolute` is false): nstep + 1 trial inverse scales
    /// (nmax + rmin + rdelta * step) / (max - min), each refit by weighted least squares, the one with the lowest
    /// weighted absolute (`absolute`) or squared error kept. Trial codes are taken as make_qkx3_quants does
    /// (clamped before rounding), which equals make_qkx2_quants' rounding wherever that one is defined.
    static func affineScale(_ n: Int, nmax: Int32, _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                            codes: UnsafeMutablePointer<UInt8>, negatedMin: inout Float,
                            rmin: Float, rdelta: Float, nstep: Int, absolute: Bool) -> Float {
        var min = x[0], max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if min > 0 { min = 0 }
        if max <= min {
            for i in 0..<n { codes[i] = 0 }
            negatedMin = -min
            return 0
        }
        let nmaxF = Float(nmax)
        let iscale = nmaxF / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = KQuantScales.nearestInt(iscale * (x[i] - min))
            codes[i] = UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(nmax, l)))
            let diff = scale * Float(codes[i]) + min - x[i]
            bestError += weights[i] * (absolute ? abs(diff) : diff * diff)
        }
        // The trials run eight at a time, one per SIMD lane, each lane summing in llama.cpp's order. A trial that
        // wins moves `min`, which every later trial depends on: the batch is then restarted after the winner.
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: n) { trialCodes in
            let laneSteps = SIMD8<Float>(0, 1, 2, 3, 4, 5, 6, 7)
            let magic = SIMD8<Float>(repeating: 12_582_912), nmaxV = SIMD8<Float>(repeating: nmaxF)
            var step = 0
            while step <= nstep {
                let iscale = (rmin + rdelta * (laneSteps + Float(step)) + nmaxF) / (max - min)
                var sumL = SIMD8<Float>(), sumL2 = SIMD8<Float>(), sumXL = SIMD8<Float>()
                for i in 0..<n {
                    let v = iscale * (x[i] - min)
                    let clamped = v.replacing(with: nmaxV, where: v .>= nmaxV)
                    let l = ((clamped + magic) - magic).replacing(with: 0, where: .!(v .> 0))
                    trialCodes[i] = l
                    let wl = weights[i] * l
                    sumL += wl
                    sumL2 += wl * l
                    sumXL += wl * x[i]
                }
                let det = sumW * sumL2 - sumL * sumL
                var thisScale = (sumW * sumXL - sumX * sumL) / det
                var thisMin = (sumL2 * sumX - sumL * sumXL) / det
                let positive = thisMin .> 0
                thisMin.replace(with: 0, where: positive)
                thisScale.replace(with: sumXL / sumL2, where: positive)
                var error = SIMD8<Float>()
                for i in 0..<n {
                    let diff = thisScale * trialCodes[i] + thisMin - x[i]
                    error += weights[i] * (absolute ? diff.replacing(with: -diff, where: diff .< 0) : diff * diff)
                }
                var advance = 8
                for k in 0..<Swift.min(8, nstep + 1 - step) where det[k] > 0 && error[k] < bestError {
                    for i in 0..<n { codes[i] = UInt8(trialCodes[i][k]) }
                    bestError = error[k]
                    scale = thisScale[k]
                    min = thisMin[k]
                    advance = k + 1
                    break
                }
                step += advance
            }
        }
        negatedMin = -min
        return scale
    }

    /// affineScale for eight consecutive groups of n weights (group j at x + n * j, its weights at weights + n * j,
    /// its codes to codes + n * j): scales[j] and negatedMins[j]. Where the CPU has AVX2 the eight run side by side,
    /// one per lane, each in affineScale's order, so the results are the same bits.
    static func affineScales(_ n: Int, nmax: Int32, _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                             codes: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>, negatedMins: UnsafeMutablePointer<Float>,
                             rmin: Float, rdelta: Float, nstep: Int, absolute: Bool, avx2: Bool = AVX2Kernels.available) {
        if avx2 && n <= 32 {
            uqcit_avx2_affine_groups(n, Float(nmax), x, weights, rmin, rdelta, Int32(nstep), absolute ? 1 : 0, codes, scales, negatedMins)
            return
        }
        for j in 0..<8 {
            scales[j] = affineScale(n, nmax: nmax, x + n * j, weights: weights + n * j, codes: codes + n * j, negatedMin: &negatedMins[j],
                                    rmin: rmin, rdelta: rdelta, nstep: nstep, absolute: absolute)
        }
    }

    /// Non-negative values `x` (sub-block scales or mins) as codes 0...nmax times one scale (make_qp_quants):
    /// the best of nine trial scales around max / nmax, then codes moved one at a time while the weighted
    /// least-squares fit improves. Returns the scale.
    static func positiveScale(_ n: Int, nmax: Int32, _ x: UnsafePointer<Float>, codes: UnsafeMutablePointer<UInt8>,
                              weights: UnsafePointer<Float>) -> Float {
        var max: Float = 0
        for i in 0..<n { max = Swift.max(max, x[i]) }
        if max < groupMaxEps {
            for i in 0..<n { codes[i] = 0 }
            return 0
        }
        let nmaxF = Float(nmax)
        var iscale = nmaxF / max
        for i in 0..<n { codes[i] = UInt8(truncatingIfNeeded: KQuantScales.nearestInt(iscale * x[i])) }
        let scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(codes[i])
            bestError += weights[i] * diff * diff
        }
        for step in -4...4 where step != 0 {
            let trialIscale = (0.1 * Float(step) + nmaxF) / max
            let trialScale = 1 / trialIscale
            var error: Float = 0
            for i in 0..<n {
                let l = Swift.min(nmax, KQuantScales.nearestInt(trialIscale * x[i]))
                let diff = x[i] - trialScale * Float(l)
                error += weights[i] * diff * diff
            }
            if error < bestError {
                bestError = error
                iscale = trialIscale
            }
        }
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.min(nmax, KQuantScales.nearestInt(iscale * x[i]))
            codes[i] = UInt8(truncatingIfNeeded: l)
            let w = weights[i], lf = Float(l)
            sumlx += w * x[i] * lf
            suml2 += w * lf * lf
        }
        for _ in 0..<5 {
            var changed = false
            for i in 0..<n {
                let w = weights[i], li = Float(codes[i])
                var slx = sumlx - w * x[i] * li
                var sl2 = suml2 - w * li * li
                if slx > 0 && sl2 > 0 {
                    let newL = Swift.min(nmax, KQuantScales.nearestInt(x[i] * sl2 / slx))
                    if newL != Int32(codes[i]) {
                        let nf = Float(newL)
                        slx += w * x[i] * nf
                        sl2 += w * nf * nf
                        if slx * slx * suml2 > sumlx * sumlx * sl2 {
                            codes[i] = UInt8(truncatingIfNeeded: newL)
                            sumlx = slx; suml2 = sl2
                            changed = true
                        }
                    }
                }
            }
            if !changed { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// The shared body of quantize_row_q4_K_ref / q5_K_ref (importance nil: fits weighted by rms(x) + |x| per
    /// sub-block, scales and mins rounded against their maxima) and quantize_row_q4_K_impl / q5_K_impl (fits
    /// weighted by importance * sqrt(sigma2 + x^2), scales and mins fitted by make_qp_quants): writes d, dmin and
    /// the packed 6-bit scales and mins (bytes 0, 2 and 4 in both layouts) and leaves the codes 0...nmax in
    /// `codes`. `rmin`, `rdelta`, `nstep` are the reference search's trial scales.
    static func scaleMinBlock(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, nmax: Int32,
                              rmin: Float, rdelta: Float, nstep: Int, into block: UnsafeMutableRawPointer,
                              codes: UnsafeMutablePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { bytes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 + 8 * 3) { floats in
                let scaleCodes = bytes.baseAddress!, minCodes = scaleCodes + 8
                let weights = floats.baseAddress!, scales = weights + 256, mins = weights + 264, subBlockWeights = weights + 272
                if let importance {
                    var sumX2: Float = 0
                    for e in 0..<256 { sumX2 += x[e] * x[e] }
                    let sigma2 = 2 * sumX2 / 256
                    for j in 0..<8 {
                        for l in 0..<32 {
                            let v = x[32 * j + l]
                            weights[32 * j + l] = importance[32 * j + l] * (sigma2 + v * v).squareRoot()
                        }
                        var sumW: Float = 0
                        for l in 0..<32 { sumW += weights[32 * j + l] }
                        subBlockWeights[j] = sumW
                    }
                    affineScales(32, nmax: nmax, x, weights: weights, codes: codes, scales: scales, negatedMins: mins,
                                 rmin: -0.9, rdelta: 0.05, nstep: 36, absolute: false)
                    let d = positiveScale(8, nmax: 63, scales, codes: scaleCodes, weights: subBlockWeights)
                    let dmin = positiveScale(8, nmax: 63, mins, codes: minCodes, weights: subBlockWeights)
                    for j in 0..<8 { scaleCodes[j] = Swift.min(63, scaleCodes[j]); minCodes[j] = Swift.min(63, minCodes[j]) }
                    KQuantScales.packScaleMins(scales: scaleCodes, mins: minCodes, into: block + 4)
                    KQuantScales.storeF16(d, block, at: 0)
                    KQuantScales.storeF16(dmin, block, at: 2)
                } else {
                    for j in 0..<8 {
                        var sumX2: Float = 0
                        for l in 0..<32 { sumX2 += x[32 * j + l] * x[32 * j + l] }
                        let rms = (sumX2 / 32).squareRoot()
                        for l in 0..<32 { weights[32 * j + l] = rms + abs(x[32 * j + l]) }
                    }
                    affineScales(32, nmax: nmax, x, weights: weights, codes: codes, scales: scales, negatedMins: mins,
                                 rmin: rmin, rdelta: rdelta, nstep: nstep, absolute: false)
                    var maxScale: Float = 0, maxMin: Float = 0
                    for j in 0..<8 {
                        maxScale = Swift.max(maxScale, scales[j])
                        maxMin = Swift.max(maxMin, mins[j])
                    }
                    let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
                    let inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
                    for j in 0..<8 {
                        scaleCodes[j] = Swift.min(63, UInt8(truncatingIfNeeded: KQuantScales.nearestInt(inverseScale * scales[j])))
                        minCodes[j] = Swift.min(63, UInt8(truncatingIfNeeded: KQuantScales.nearestInt(inverseMin * mins[j])))
                    }
                    KQuantScales.packScaleMins(scales: scaleCodes, mins: minCodes, into: block + 4)
                    KQuantScales.storeF16(maxScale / 63, block, at: 0)
                    KQuantScales.storeF16(maxMin / 63, block, at: 2)
                }
                let d = KQuantScales.loadF16(block, at: 0), dmin = KQuantScales.loadF16(block, at: 2)
                for j in 0..<8 {
                    let (sc, m) = KQuantScales.scaleMin(j, block + 4)
                    let dl = d * Float(sc)
                    if dl == 0 { continue }
                    let ml = dmin * Float(m)
                    for l in 0..<32 {
                        let q = KQuantScales.nearestInt((x[32 * j + l] + ml) / dl)
                        codes[32 * j + l] = UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(nmax, q)))
                    }
                }
            }
        }
    }
}
