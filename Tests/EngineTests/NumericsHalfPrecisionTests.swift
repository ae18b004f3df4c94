import Engine
import XCTest

final class NumericsHalfPrecisionTests: XCTestCase {
    func testEveryBF16PatternRoundtrips() {
        for bits in 0...UInt16.max {
            let value = HalfPrecision.bf16ToFloat(bits)
            if value.isNaN {
                XCTAssertTrue(HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16(value)).isNaN, "bf16 \(bits)")
            } else if HalfPrecision.floatToBF16(value) != bits {
                XCTFail("bf16 \(String(bits, radix: 16)) -> \(value) -> \(String(HalfPrecision.floatToBF16(value), radix: 16))")
            }
        }
    }

    func testEveryF16PatternRoundtripsAndMatchesFloat16() {
        for bits in 0...UInt16.max {
            let value = HalfPrecision.f16ToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(value.isNaN && HalfPrecision.f16ToFloat(HalfPrecision.floatToF16(value)).isNaN, "f16 \(bits)")
            } else if value.bitPattern != reference.bitPattern || HalfPrecision.floatToF16(value) != bits {
                XCTFail("f16 \(String(bits, radix: 16)) -> \(value)")
            }
        }
    }

    func testBF16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between 1 (even) and 1 + 2^-7: ties go to even.
        XCTAssertEqual(HalfPrecision.floatToBF16(1 + 0x1p-8), 0x3F80)
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
        XCTAssertEqual(HalfPrecision.floatToBF16(1 + 3 * 0x1p-8), 0x3F82)
        XCTAssertEqual(HalfPrecision.floatToBF16(1 + 0x1p-8 + 0x1p-20), 0x3F81)
        XCTAssertEqual(HalfPrecision.floatToBF16(-1 - 0x1p-8 - 0x1p-20), 0xBF81)
        XCTAssertEqual(HalfPrecision.floatToBF16(.greatestFiniteMagnitude), 0x7F80)
        XCTAssertEqual(HalfPrecision.floatToBF16(-.infinity), 0xFF80)
        // A NaN whose payload sits only in the dropped bits must not become infinity.
        XCTAssertTrue(HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16(Float(bitPattern: 0x7F80_0001))).isNaN)
        XCTAssertTrue(HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16(Float(bitPattern: 0xFF80_0001))).isNaN)
    }

    func testF16RoundsToNearestEven() {
        XCTAssertEqual(HalfPrecision.floatToF16(1 + 0x1p-11), 0x3C00)
        XCTAssertEqual(HalfPrecision.floatToF16(1 + 3 * 0x1p-11), 0x3C02)
        XCTAssertEqual(HalfPrecision.floatToF16(65504), 0x7BFF)
        XCTAssertEqual(HalfPrecision.floatToF16(65520), 0x7C00)
        XCTAssertEqual(HalfPrecision.floatToF16(0x1p-24), 0x0001)
        XCTAssertTrue(HalfPrecision.f16ToFloat(HalfPrecision.floatToF16(.nan)).isNaN)
    }

    func testQuantFormatProperties() {
        XCTAssertEqual(QuantFormat.allCases.map(\.bits), [16, 8, 4, 3, 2])
        XCTAssertEqual(QuantFormat.allCases.map(\.defaultGroupSize), [0, 128, 128, 128, 64])
        XCTAssertEqual(QuantFormat.allCases.map(\.isSymmetric), [false, true, false, false, false])
        for format in QuantFormat.allCases {
            XCTAssertEqual(QuantFormat(name: format.rawValue), format)
        }
        XCTAssertNil(QuantFormat(name: "int5"))
        XCTAssertNil(QuantFormat(name: "INT4"))
    }

    func testSplitMix64MatchesReference() {
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
    }

    func testSeedDerivationIsStableAndSalted() {
        XCTAssertEqual(SeedDerivation.fnv1a64(""), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(SeedDerivation.fnv1a64("a"), 0xAF63_DC4C_8601_EC8C)
        XCTAssertEqual(SeedDerivation.fnv1a64("foobar"), 0x8594_4171_F739_67E8)
        let name = "model.layers.0.self_attn.q_proj.weight"
        XCTAssertEqual(SeedDerivation.seed(for: name), SeedDerivation.seed(for: name))
        XCTAssertEqual(SeedDerivation.seed(for: name, salt: 7), SeedDerivation.seed(for: name, salt: 7))
        XCTAssertNotEqual(SeedDerivation.seed(for: name), SeedDerivation.seed(for: name, salt: 1))
        XCTAssertNotEqual(SeedDerivation.seed(for: name), SeedDerivation.seed(for: "model.layers.1.self_attn.q_proj.weight"))
    }
}
