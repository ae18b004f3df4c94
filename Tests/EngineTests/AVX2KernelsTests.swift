import XCTest
@testable import Kernels
import KernelsAVX2

/// KernelsAVX2's loops against the Swift loops they stand in for, byte for byte, on ordinary and hostile blocks:
/// a job's bytes must not depend on which CPU ran it.
final class AVX2KernelsTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(AVX2Kernels.available, "this CPU has no AVX2 and F16C (or UQCIT_NO_AVX2=1): the Swift loops run")
    }

    /// Blocks of 32 that reach every branch of the reference: ties between +m and -m in either order, zeros of
    /// both signs, NaN and infinities, subnormals, scales that overflow or underflow f16, random data at many scales.
    static func q4_0Blocks() -> [[Float]] {
        var blocks: [[Float]] = [
            [Float](repeating: 0, count: 32), [Float](repeating: -0.0, count: 32),
            (0..<32).map { $0 == 5 ? -2 : $0 == 9 ? 2 : 0.5 }, (0..<32).map { $0 == 5 ? 2 : $0 == 9 ? -2 : -0.5 },
            (0..<32).map { $0 == 31 ? -7 : Float($0 % 7) - 3 }, (0..<32).map { $0 == 0 ? .nan : Float($0) },
            (0..<32).map { $0 == 17 ? .infinity : Float($0) }, (0..<32).map { $0 == 3 ? -.infinity : Float($0) },
            [Float](repeating: .nan, count: 32), (0..<32).map { Float($0) * .leastNonzeroMagnitude },
            (0..<32).map { Float($0 + 1) * 1e-9 }, (0..<32).map { Float($0) * 1e5 }, (0..<32).map { $0 == 7 ? 3e38 : -1e38 },
            (0..<32).map { $0 % 2 == 0 ? .nan : -Float($0) },
        ]
        var rng = SplitMix64(seed: 0x0A5C2)
        for scale: Float in [1e-6, 1e-3, 0.02, 1, 300, 6e4, 1e30] {
            for _ in 0..<400 {
                blocks.append((0..<32).map { _ in scale * (Float(rng.next() % 2_000_001) / 1_000_000 - 1) })
            }
        }
        return blocks
    }

    func testQ4_0LoopGivesTheReferenceBytes() {
        let blocks = Self.q4_0Blocks()
        let x = blocks.flatMap { $0 }
        var avx2 = [UInt8](repeating: 0xAA, count: 18 * blocks.count), swift = avx2
        x.withUnsafeBufferPointer { uqcit_avx2_q4_0_quantize($0.baseAddress!, blocks.count, &avx2) }
        x.withUnsafeBufferPointer { p in
            swift.withUnsafeMutableBytes { o in
                for b in 0..<blocks.count { GGMLQ4_0.referencePlain(p.baseAddress! + 32 * b, into: o.baseAddress! + 18 * b) }
            }
        }
        for b in 0..<blocks.count where avx2[(18 * b)..<(18 * b + 18)] != swift[(18 * b)..<(18 * b + 18)] {
            XCTFail("block \(b) \(blocks[b].prefix(6))...: AVX2 \(Array(avx2[(18 * b)..<(18 * b + 18)])), Swift \(Array(swift[(18 * b)..<(18 * b + 18)]))")
            return
        }
        // The row entry point takes the AVX2 loop here: the same bytes as block by block.
        var row = [UInt8](repeating: 0, count: avx2.count)
        x.withUnsafeBufferPointer { p in row.withUnsafeMutableBytes { GGMLType.q4_0.quantizeRow(p.baseAddress!, columns: x.count, into: $0.baseAddress!) } }
        XCTAssertEqual(row, swift)
    }

    /// Runs of 4096 and a shorter last one; a block whose f16 scale overflows (infinite and NaN errors).
    func testQ4_0FusedErrorSumsAreErrorSumsOfTheDecodedBlocks() {
        let blocks = Self.q4_0Blocks().filter { $0.allSatisfy(\.isFinite) }
        for count in [32, 4096, 4096 + 32, 32 * blocks.count] {
            let x = Array(blocks.flatMap { $0 }.prefix(count))
            var q = [UInt8](repeating: 0, count: 18 * count / 32)
            x.withUnsafeBufferPointer { p in q.withUnsafeMutableBytes { GGMLType.q4_0.quantizeRow(p.baseAddress!, columns: count, into: $0.baseAddress!) } }
            var y = [Float](repeating: 0, count: count)
            q.withUnsafeBytes { b in y.withUnsafeMutableBufferPointer { for k in 0..<(count / 32) { GGMLQ4_0.dequantize(b.baseAddress! + 18 * k, into: $0.baseAddress! + 32 * k) } } }
            let expected = ErrorSums.of(x, y, count: count)
            let fused = x.withUnsafeBufferPointer { p in q.withUnsafeBytes { GGMLType.q4_0.fusedErrorSums(p.baseAddress!, blocks: $0.baseAddress!, count: count) } }
            XCTAssertEqual(fused?.source.bitPattern, expected.source.bitPattern, "\(count) weights")
            XCTAssertEqual(fused?.error.bitPattern, expected.error.bitPattern, "\(count) weights")
            XCTAssertEqual(fused?.maxAbs.bitPattern, expected.maxAbs.bitPattern, "\(count) weights")
        }
        XCTAssertNil(GGMLType.q8_0.fusedErrorSums([0], blocks: [0], count: 0), "only Q4_0 has a fused loop")
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
