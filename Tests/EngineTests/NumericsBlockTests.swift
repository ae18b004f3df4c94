import Engine
import XCTest

final class NumericsBlockTests: XCTestCase {
    /// QuantFormat dispatches to Int8Block, Int4Block, Int3Block and Int2Block.
    private static let packed: [QuantFormat] = [.int8, .int4, .int3, .int2]

    private func pack(_ codes: [UInt8], _ format: QuantFormat) -> [UInt8] {
        // Pre-fill with ones so that unwritten padding bits would show.
        var packed = [UInt8](repeating: 0xFF, count: format.packedBytes(count: codes.count))
        codes.withUnsafeBufferPointer { c in packed.withUnsafeMutableBufferPointer { format.pack(codes: c, into: $0) } }
        return packed
    }

    private func unpack(_ packed: [UInt8], count: Int, _ format: QuantFormat) -> [UInt8] {
        var codes = [UInt8](repeating: 0, count: count)
        packed.withUnsafeBufferPointer { p in codes.withUnsafeMutableBufferPointer { format.unpack(packed: p, count: count, into: $0) } }
        return codes
    }

    func testPackedSizes() {
        XCTAssertEqual([1, 2, 3, 8, 9, 128].map(Int8Block.packedBytes(count:)), [1, 2, 3, 8, 9, 128])
        XCTAssertEqual([1, 2, 3, 8, 9, 128].map(Int4Block.packedBytes(count:)), [1, 1, 2, 4, 5, 64])
        XCTAssertEqual([1, 2, 3, 8, 9, 128].map(Int3Block.packedBytes(count:)), [1, 1, 2, 3, 4, 48])
        XCTAssertEqual([1, 2, 3, 8, 9, 128].map(Int2Block.packedBytes(count:)), [1, 1, 1, 2, 3, 32])
        XCTAssertEqual(QuantFormat.fp16.packedBytes(count: 9), 18)
    }

    func testRandomCodesRoundtripAtOddCounts() {
        var generator = SplitMix64(seed: 11)
        for format in Self.packed {
            let bits = format.bits
            for count in [1, 2, 3, 5, 7, 8, 9, 16, 127, 128, 129, 1000] {
                let codes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) >> (8 - bits) }
                let packed = pack(codes, format)
                XCTAssertEqual(unpack(packed, count: count, format), codes, "int\(bits) count \(count)")
                let usedBits = bits * count
                if usedBits % 8 != 0 {
                    XCTAssertEqual(packed.last! >> (usedBits % 8), 0, "int\(bits) count \(count): padding not zero")
                }
            }
        }
    }

    func testInt8StoresSignedLevels() {
        let levels = (-127...127).map { UInt8(bitPattern: Int8($0)) }
        let roundtrip = unpack(pack(levels, .int8), count: levels.count, .int8)
        XCTAssertEqual(roundtrip.map { Int(Int8(bitPattern: $0)) }, Array(-127...127))
    }

    func testInt4LowNibbleFirstExhaustive() {
        for low in 0..<16 {
            for high in 0..<16 {
                let packed = pack([UInt8(low), UInt8(high)], .int4)
                XCTAssertEqual(packed, [UInt8(low | high << 4)])
            }
        }
    }

    func testInt2LowestBitsFirstExhaustive() {
        for byte in 0..<256 {
            let codes = (0..<4).map { UInt8((byte >> (2 * $0)) & 3) }
            XCTAssertEqual(pack(codes, .int2), [UInt8(byte)])
            XCTAssertEqual(unpack([UInt8(byte)], count: 4, .int2), codes)
        }
    }

    func testInt3IsLittleEndianBitStream() {
        // Every level at every position of an 8-code block lands at bits 3i...3i+2 of a 24-bit word.
        for position in 0..<8 {
            for level in 0..<8 {
                var codes = [UInt8](repeating: 0, count: 8)
                codes[position] = UInt8(level)
                let stream = level << (3 * position)
                XCTAssertEqual(pack(codes, .int3), [UInt8(stream & 0xFF), UInt8((stream >> 8) & 0xFF), UInt8(stream >> 16)])
            }
        }
        // A 3-code tail: 1 | 7 << 3 | 5 << 6 = 0b1_0111_1001 over two bytes.
        XCTAssertEqual(pack([1, 7, 5], .int3), [0x79, 0x01])
    }
}
