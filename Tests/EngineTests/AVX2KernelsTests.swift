import XCTest
@testable import Kernels
import KernelsAVX2

/// KernelsAVX2's loops against the Swift loops they stand in for, byte for byte, on ordinary and hostile blocks:
/// a job's bytes must not depend on which CPU ran it.
final class AVX2KernelsTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(AVX2Kernels.available, "this CPU has no AVX2 and F16C (or UQCIT_NO_AVX2=1): the Swift loops run")
    }

    /// Blocks of 32 that reach every branch of the references: ties between +m and -m in either order, zeros of
    /// both signs, NaN and infinities, Q8_0 codes at exact halves (scale 1), subnormals, scales that overflow or
    /// underflow f16, random data at many scales.
    static func blocks() -> [[Float]] {
        var blocks: [[Float]] = [
            [Float](repeating: 0, count: 32), [Float](repeating: -0.0, count: 32),
            (0..<32).map { $0 == 5 ? -2 : $0 == 9 ? 2 : 0.5 }, (0..<32).map { $0 == 5 ? 2 : $0 == 9 ? -2 : -0.5 },
            (0..<32).map { $0 == 31 ? -7 : Float($0 % 7) - 3 }, (0..<32).map { $0 == 0 ? .nan : Float($0) },
            (0..<32).map { $0 == 17 ? .infinity : Float($0) }, (0..<32).map { $0 == 3 ? -.infinity : Float($0) },
            [Float](repeating: .nan, count: 32), (0..<32).map { Float($0) * .leastNonzeroMagnitude },
            (0..<32).map { Float($0 + 1) * 1e-9 }, (0..<32).map { Float($0) * 1e5 }, (0..<32).map { $0 == 7 ? 3e38 : -1e38 },
            (0..<32).map { $0 % 2 == 0 ? .nan : -Float($0) }, (0..<32).map { $0 == 0 ? 127 : Float($0) - 15.5 },
        ]
        var rng = SplitMix64(seed: 0x0A5C2)
        for scale: Float in [1e-6, 1e-3, 0.02, 1, 300, 6e4, 1e30] {
            for _ in 0..<400 {
                blocks.append((0..<32).map { _ in scale * (Float(rng.next() % 2_000_001) / 1_000_000 - 1) })
            }
        }
        return blocks
    }

    /// Each AVX2 quantizer against its Swift block loop, block by block, then through the row entry point.
    func testQ4_0AndQ8_0LoopsGiveTheReferenceBytes() {
        let blocks = Self.blocks()
        let x = blocks.flatMap { $0 }
        let loops: [(GGMLType, (UnsafePointer<Float>, Int, UnsafeMutablePointer<UInt8>) -> Void, (UnsafePointer<Float>, UnsafeMutableRawPointer) -> Void)] = [
            (.q4_0, uqcit_avx2_q4_0_quantize, { GGMLQ4_0.referencePlain($0, into: $1) }),
            (.q8_0, uqcit_avx2_q8_0_quantize, { GGMLQ8_0.quantizeReference($0, importance: nil, into: $1) }),
        ]
        for (type, avx2Loop, swiftBlock) in loops {
            let size = type.blockBytes
            var avx2 = [UInt8](repeating: 0xAA, count: size * blocks.count), swift = avx2
            x.withUnsafeBufferPointer { avx2Loop($0.baseAddress!, blocks.count, &avx2) }
            x.withUnsafeBufferPointer { p in
                swift.withUnsafeMutableBytes { o in for b in 0..<blocks.count { swiftBlock(p.baseAddress! + 32 * b, o.baseAddress! + size * b) } }
            }
            for b in 0..<blocks.count where avx2[(size * b)..<(size * b + size)] != swift[(size * b)..<(size * b + size)] {
                XCTFail("\(type) block \(b) \(blocks[b].prefix(6))...: AVX2 \(Array(avx2[(size * b)..<(size * b + size)])), Swift \(Array(swift[(size * b)..<(size * b + size)]))")
                break
            }
            // The row entry point takes the AVX2 loop here: the same bytes as block by block.
            var row = [UInt8](repeating: 0, count: avx2.count)
            x.withUnsafeBufferPointer { p in row.withUnsafeMutableBytes { type.quantizeRow(p.baseAddress!, columns: x.count, into: $0.baseAddress!) } }
            XCTAssertTrue(row == swift, "\(type): the row entry point's bytes differ from block by block")
        }
    }

    /// Runs of 4096 and a shorter last one, at scales from 1e-6 to 1e30.
    func testFusedErrorSumsAreErrorSumsOfTheDecodedBlocks() {
        let blocks = Self.blocks().filter { $0.allSatisfy(\.isFinite) }
        for type: GGMLType in [.q4_0, .q8_0] {
            for count in [32, 4096, 4096 + 32, 32 * blocks.count] {
                let x = Array(blocks.flatMap { $0 }.prefix(count))
                var q = [UInt8](repeating: 0, count: type.blockBytes * count / 32)
                x.withUnsafeBufferPointer { p in q.withUnsafeMutableBytes { type.quantizeRow(p.baseAddress!, columns: count, into: $0.baseAddress!) } }
                var y = [Float](repeating: 0, count: count)
                q.withUnsafeBytes { b in y.withUnsafeMutableBufferPointer { for k in 0..<(count / 32) { type.codec.dequantize(b.baseAddress! + type.blockBytes * k, into: $0.baseAddress! + 32 * k) } } }
                let expected = ErrorSums.of(x, y, count: count)
                let fused = x.withUnsafeBufferPointer { p in q.withUnsafeBytes { type.fusedErrorSums(p.baseAddress!, blocks: $0.baseAddress!, count: count) } }
                XCTAssertEqual(fused?.source.bitPattern, expected.source.bitPattern, "\(type), \(count) weights")
                XCTAssertEqual(fused?.error.bitPattern, expected.error.bitPattern, "\(type), \(count) weights")
                XCTAssertEqual(fused?.maxAbs.bitPattern, expected.maxAbs.bitPattern, "\(type), \(count) weights")
            }
        }
        XCTAssertNil(GGMLType.q4_K.fusedErrorSums([0], blocks: [0], count: 0), "only Q4_0 and Q8_0 have a fused loop")
    }

    /// The blocks above as groups of n (each block, or its two halves for 16), eight groups joined per batch.
    static func batchesOfEightGroups(_ n: Int) -> [[Float]] {
        let groups = blocks().flatMap { n == 32 ? [$0] : [Array($0.prefix(16)), Array($0.suffix(16))] }
        return stride(from: 0, to: groups.count - 7, by: 8).map { Array(groups[$0..<($0 + 8)].joined()) }
    }

    /// How many of eight groups of n differ between the AVX2 fit (index 0) and the Swift fit (index 1), in their
    /// codes or, bit for bit, in their per-group values (scale, negated min); the first three are reported.
    func differingGroups<Code: Equatable>(_ search: String, n: Int, x: [Float], codes: [[Code]], values: [[[Float]]], reported: Int) -> Int {
        var differing = 0
        for j in 0..<8 {
            let group = (n * j)..<(n * j + n)
            if codes[0][group] == codes[1][group] && values.allSatisfy({ $0[0][j].bitPattern == $0[1][j].bitPattern }) { continue }
            differing += 1
            if reported + differing <= 3 {
                XCTFail("\(search) on \(x[group].prefix(4))...: AVX2 \(values.map { $0[0][j] }) \(codes[0][group]), Swift \(values.map { $0[1][j] }) \(codes[1][group])")
            }
        }
        return differing
    }

    /// make_qkx2/qkx3_quants for eight groups side by side in AVX2 against the Swift function group by group, for
    /// every search the k-quants run (Q4_K and Q5_K with and without importance, Q2_K's both): the same codes,
    /// scales and mins, bit for bit, on the hostile and random blocks above (as groups of 32 and of 16, flat groups
    /// among them), with llama.cpp's weights and with random ones.
    func testAffineScalesForEightGroupsAreTheSwiftFunctions() {
        let searches: [(n: Int, nmax: Int32, rmin: Float, rdelta: Float, nstep: Int, absolute: Bool)] = [
            (32, 15, -1, 0.1, 20, false), (32, 31, -0.5, 0.1, 15, false), (32, 15, -0.9, 0.05, 36, false),
            (16, 3, -0.9, 0.05, 36, false), (16, 3, -0.5, 0.1, 15, true),
        ]
        var rng = SplitMix64(seed: 0xAFF1)
        var fits = 0, differing = 0
        for search in searches {
            for x in Self.batchesOfEightGroups(search.n) {
                let rmsWeights = stride(from: 0, to: x.count, by: search.n).flatMap { start in
                    let g = x[start..<(start + search.n)]
                    let rms = (g.reduce(0) { $0 + $1 * $1 } / Float(search.n)).squareRoot()
                    return g.map { rms + abs($0) }
                }
                for weights in [rmsWeights, x.map { _ in Float(rng.next() % 1000) / 250 }] {
                    var codes = [[UInt8]](repeating: [UInt8](repeating: 0xEE, count: x.count), count: 2)
                    var scales = [[Float]](repeating: [Float](repeating: .nan, count: 8), count: 2), negatedMins = scales
                    for (k, avx2) in [true, false].enumerated() {
                        KQuantReferenceSearch.affineScales(search.n, nmax: search.nmax, x, weights: weights, codes: &codes[k], scales: &scales[k],
                                                           negatedMins: &negatedMins[k], rmin: search.rmin, rdelta: search.rdelta,
                                                           nstep: search.nstep, absolute: search.absolute, avx2: avx2)
                    }
                    fits += 8
                    differing += differingGroups("\(search)", n: search.n, x: x, codes: codes, values: [scales, negatedMins], reported: differing)
                }
            }
        }
        XCTAssertEqual(differing, 0, "of \(fits) fits")
        XCTAssertGreaterThan(fits, 10_000)
    }

    /// make_qx_quants for eight groups side by side in AVX2 against the Swift function group by group, as Q3_K and
    /// Q6_K search (groups of 16, nmax 4 and 32, weighted by x² or given weights; groups of 32 too): the same codes
    /// and scales, bit for bit, on the hostile and random blocks above, all-zero and tiny groups among them.
    func testSymmetricScalesForEightGroupsAreTheSwiftFunctions() {
        var rng = SplitMix64(seed: 0x5E3)
        var fits = 0, differing = 0
        for n in [16, 32] {
            for x in Self.batchesOfEightGroups(n) {
                for nmax: Int32 in [4, 32] {
                    for weights in [nil, x.map { _ in Float(rng.next() % 1000) / 250 }] as [[Float]?] {
                        var codes = [[Int8]](repeating: [Int8](repeating: 99, count: x.count), count: 2)
                        var scales = [[Float]](repeating: [Float](repeating: .nan, count: 8), count: 2)
                        for (k, avx2) in [true, false].enumerated() {
                            x.withUnsafeBufferPointer { xp in
                                if let weights {
                                    weights.withUnsafeBufferPointer {
                                        KQuantReferenceSearch.symmetricScales(n, nmax: nmax, xp.baseAddress!, codes: &codes[k], weights: $0.baseAddress!,
                                                                              scales: &scales[k], avx2: avx2)
                                    }
                                } else {
                                    KQuantReferenceSearch.symmetricScales(n, nmax: nmax, xp.baseAddress!, codes: &codes[k], weights: nil,
                                                                          scales: &scales[k], avx2: avx2)
                                }
                            }
                        }
                        fits += 8
                        differing += differingGroups("n \(n), nmax \(nmax)", n: n, x: x, codes: codes, values: [scales], reported: differing)
                    }
                }
            }
        }
        XCTAssertEqual(differing, 0, "of \(fits) fits")
        XCTAssertGreaterThan(fits, 10_000)
    }

    /// The sub-block error (the super-block step's objective) in AVX2 against the Swift loop, groups of 16 and
    /// 32, scales from 0 to 1e30 and codes 0...3 to -32...31: the same error and codes, bit for bit.
    func testSubBlockErrorIsTheSwiftLoops() {
        var rng = SplitMix64(seed: 0xE22)
        var cases = 0, differing = 0
        for x in Self.blocks() {
            let w = x.map { _ in Float(rng.next() % 1000) / 250 }
            for (n, lo, hi) in [(16, Float(0), Float(3)), (32, 0, 15), (16, -32, 31), (32, 0, 31)] {
                for a: Float in [0, 1e-30, 0.003, 0.7, 40, 1e30] {
                    let b = Float(Int(rng.next() % 21) - 10) * a / 3
                    var codes = [[Float]](repeating: [Float](repeating: -1, count: n), count: 2), errors: [Float] = [0, 0]
                    for (k, avx2) in [true, false].enumerated() {
                        errors[k] = KQuantSearch.subBlockError(x, w, n: n, a: a, b: b, lo: lo, hi: hi, codes: &codes[k], avx2: avx2)
                    }
                    cases += 1
                    func bits(_ v: Float) -> UInt32 { v.isNaN ? Float.nan.bitPattern : v.bitPattern }
                    if codes[0].map(bits) != codes[1].map(bits) || bits(errors[0]) != bits(errors[1]) {
                        differing += 1
                        if differing <= 3 { XCTFail("n \(n), a \(a), b \(b) on \(x.prefix(4))...: AVX2 \(errors[0]) \(codes[0]), Swift \(errors[1]) \(codes[1])") }
                    }
                }
            }
        }
        XCTAssertEqual(differing, 0, "of \(cases) cases")
    }

    /// Our k-quant search's sub-block step in AVX2 against the Swift step, for every k-quant grid, from llama.cpp's
    /// block for the same weights (the step's real starting point) and from that block with its scales and mins
    /// disturbed: the same codes, scale and min, bit for bit, on the hostile and random blocks above, 256 at a time.
    func testSubBlockStepGivesTheSwiftStepsFit() {
        let blocks = Self.blocks()
        let superBlocks = stride(from: 0, to: blocks.count - 7, by: 8).map { Array(blocks[$0..<($0 + 8)].joined()) }
        var steps = 0, differing = 0
        func compare<T: KQuantGrid>(_ type: T.Type) {
            let n = T.subBlockSize
            let lo = Float(T.codeRange.lowerBound), hi = Float(T.codeRange.upperBound)
            let scaleLo = Float(T.scaleRange.lowerBound), scaleHi = Float(T.scaleRange.upperBound)
            let minLo = Float(T.minRange.lowerBound), minHi = Float(T.minRange.upperBound)
            var rng = SplitMix64(seed: 0x5B5)
            for x in superBlocks {
                var block = [UInt8](repeating: 0, count: T.blockBytes), w = [Float](repeating: 0, count: 256)
                var codes = [Float](repeating: 0, count: 256), scales = [Float](repeating: 0, count: 16), mins = scales
                x.withUnsafeBufferPointer { xp in
                    block.withUnsafeMutableBytes { T.quantizeReference(xp.baseAddress!, importance: nil, into: $0.baseAddress!) }
                    w.withUnsafeMutableBufferPointer { T.referenceWeights(xp.baseAddress!, into: $0.baseAddress!) }
                }
                var d: Float = 0, dmin: Float = 0
                codes.withUnsafeMutableBufferPointer { c in scales.withUnsafeMutableBufferPointer { s in mins.withUnsafeMutableBufferPointer { m in
                    var v = KQuantBlockValues(codes: c.baseAddress!, scales: s.baseAddress!, mins: m.baseAddress!)
                    block.withUnsafeBytes { T.unpack($0.baseAddress!, into: &v) }
                    d = v.d; dmin = v.dmin
                } } }
                for disturbed in [false, true] {
                    for j in 0..<(256 / n) {
                        var scale = scales[j], min = mins[j]
                        if disturbed {
                            scale = Swift.min(scaleHi, Swift.max(scaleLo, scale + Float(Int(rng.next() % 5) - 2)))
                            min = Swift.min(minHi, Swift.max(minLo, min + Float(Int(rng.next() % 3) - 1)))
                        }
                        var fits = [(codes: [Float], scale: Float, min: Float)]()
                        for avx2 in [true, false] {
                            var c = Array(codes[(n * j)..<(n * j + n)]), s = scale, m = min
                            Array(x[(n * j)..<(n * j + n)]).withUnsafeBufferPointer { xp in
                                Array(w[(n * j)..<(n * j + n)]).withUnsafeBufferPointer { wp in
                                    KQuantSearch.subBlockStep(xp.baseAddress!, wp.baseAddress!, n: n, codes: &c, scale: &s, min: &m, d: d, dmin: dmin,
                                                              lo: lo, hi: hi, scaleLo: scaleLo, scaleHi: scaleHi, minLo: minLo, minHi: minHi,
                                                              hasMins: minHi > minLo, avx2: avx2)
                                }
                            }
                            fits.append((c, s, m))
                        }
                        steps += 1
                        // A NaN's sign and payload follow operand order, which LLVM may commute: NaNs compare as
                        // one value. NaN codes never reach a block (its error is not below the reference's).
                        func bits(_ v: Float) -> UInt32 { v.isNaN ? Float.nan.bitPattern : v.bitPattern }
                        if fits[0].codes.map(bits) != fits[1].codes.map(bits) || bits(fits[0].scale) != bits(fits[1].scale)
                            || bits(fits[0].min) != bits(fits[1].min) {
                            differing += 1
                            if differing <= 3 { XCTFail("\(T.self) sub-block \(j) of \(x.prefix(4))...: AVX2 \(fits[0]), Swift \(fits[1])") }
                        }
                    }
                }
            }
        }
        compare(GGMLQ2_K.self); compare(GGMLQ3_K.self); compare(GGMLQ4_K.self); compare(GGMLQ5_K.self); compare(GGMLQ6_K.self)
        XCTAssertEqual(differing, 0, "of \(steps) steps")
        XCTAssertGreaterThan(steps, 10_000)
    }

    func testBF16WideningIsTheShiftAndFlagsExactlyNonFiniteValues() {
        var rng = SplitMix64(seed: 0xBF16)
        for count in [0, 1, 7, 8, 9, 64, 1001] {
            // Finite values only, then one NaN or infinity (or a largest finite, which must not count) at each place.
            let finite: [UInt16] = (0..<count).map { _ in
                let b = UInt16(truncatingIfNeeded: rng.next())
                return b & 0x7F80 == 0x7F80 ? b & 0xBFFF : b
            }
            for (index, bits) in [(-1, UInt16(0))] + (0..<count).filter { $0 % 5 == 0 || $0 == count - 1 }.map { ($0, [0x7F80, 0xFF80, 0x7FC1, 0x7F7F][$0 % 4]) } {
                var src = finite
                if index >= 0 { src[index] = UInt16(bits) }
                var out = [Float](repeating: .nan, count: count)
                let flagged = src.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { uqcit_avx2_bf16_widen(s.baseAddress, count, $0.baseAddress) } }
                XCTAssertEqual(out.map(\.bitPattern), src.map { UInt32($0) << 16 }, "count \(count)")
                XCTAssertEqual(flagged != 0, src.contains { $0 & 0x7F80 == 0x7F80 }, "count \(count), \(String(bits, radix: 16)) at \(index)")
            }
        }
    }
}
