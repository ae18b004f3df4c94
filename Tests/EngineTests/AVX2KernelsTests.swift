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
