import Engine
import XCTest

final class NumericsGroupQuantizerTests: XCTestCase {
    private static let rows = 64, cols = 1024
    private static let weights = NumericsTestData.gaussian(count: rows * cols, seed: 42)

    private func roundtrip(_ x: [Float], rows: Int, cols: Int, _ format: QuantFormat, groupSize: Int? = nil, symmetric: Bool? = nil, halfIsBF16: Bool = false) -> (QuantizedTile, [Float]) {
        let tile = x.withUnsafeBufferPointer {
            GroupQuantizer.quantize($0, rows: rows, cols: cols, format: format, groupSize: groupSize ?? format.defaultGroupSize, symmetric: symmetric, halfIsBF16: halfIsBF16)
        }
        return (tile, GroupQuantizer.dequantize(tile))
    }

    /// Bounds sit slightly below what was measured on this data (printed), far above the Shannon-free
    /// uniform-quantizer reference points of DESIGN.md section 3.
    func testGaussianErrorBounds() {
        let x = Self.weights
        let (_, int8) = roundtrip(x, rows: Self.rows, cols: Self.cols, .int8)
        let relative = NumericsTestData.relativeError(x, int8)
        print("int8 g128 relative Frobenius error \(relative), SQNR \(NumericsTestData.sqnr(x, int8)) dB")
        XCTAssertLessThan(relative, 0.0065)
        for (format, bound) in [(QuantFormat.int4, 20.5), (.int3, 14.5), (.int2, 9.4)] {
            let (_, y) = roundtrip(x, rows: Self.rows, cols: Self.cols, format)
            let sqnr = NumericsTestData.sqnr(x, y)
            print("\(format) g\(format.defaultGroupSize) SQNR \(sqnr) dB")
            XCTAssertGreaterThan(sqnr, bound, "\(format)")
        }
    }

    func testInt4BeatsPlainMinMaxRounding() {
        let x = Self.weights
        let (_, searched) = roundtrip(x, rows: Self.rows, cols: Self.cols, .int4)
        // Plain asymmetric RTN with unrounded Float scale and min: d = (max - min) / 15, m = min.
        var plain = x
        for start in stride(from: 0, to: x.count, by: 128) {
            let group = x[start..<(start + 128)]
            let low = group.min()!, d = (group.max()! - low) / 15
            for i in group.indices {
                plain[i] = ((x[i] - low) / d).rounded() * d + low
            }
        }
        let ours = NumericsTestData.sqnr(x, searched), rtn = NumericsTestData.sqnr(x, plain)
        print("int4 g128 searched \(ours) dB, plain min/max RTN \(rtn) dB")
        XCTAssertGreaterThanOrEqual(ours, rtn + 0.5)
    }

    /// The symmetric override (uniform baselines): q in -(2^(b-1) - 1)...2^(b-1) - 1 stored as q + 2^(b-1),
    /// no mins, and better than plain max|w| / qmax rounding.
    func testSymmetricOverrideOfNarrowFormats() {
        let x = Self.weights
        for (format, bound) in [(QuantFormat.int4, 19.3), (.int3, 13.3), (.int2, 7.1)] {
            let (tile, y) = roundtrip(x, rows: Self.rows, cols: Self.cols, format, symmetric: true)
            XCTAssertTrue(tile.symmetric && tile.mins.isEmpty)
            let qmax = format.maxCode(symmetric: true)
            var codes = [UInt8](repeating: 0, count: Self.cols)
            tile.codes.withUnsafeBufferPointer { packed in
                codes.withUnsafeMutableBufferPointer { format.unpack(packed: UnsafeBufferPointer(rebasing: packed[0..<tile.rowStride]), count: Self.cols, into: $0) }
            }
            XCTAssertTrue(codes.allSatisfy { abs(Int($0) - (1 << (format.bits - 1))) <= qmax }, "\(format)")
            let group = format.defaultGroupSize
            var plain = x
            for start in stride(from: 0, to: x.count, by: group) {
                let d = x[start..<(start + group)].map(abs).max()! / Float(qmax)
                for i in start..<(start + group) { plain[i] = (x[i] / d).rounded() * d }
            }
            let ours = NumericsTestData.sqnr(x, y), rtn = NumericsTestData.sqnr(x, plain)
            print("\(format) g\(group) symmetric SQNR \(ours) dB, plain max/qmax RTN \(rtn) dB")
            XCTAssertGreaterThan(ours, bound, "\(format)")
            XCTAssertGreaterThan(ours, rtn, "\(format)")
        }
        let (int8, y) = roundtrip(x, rows: Self.rows, cols: Self.cols, .int8, symmetric: false)
        XCTAssertFalse(int8.symmetric)
        XCTAssertEqual(int8.mins.count, int8.scales.count)
        XCTAssertLessThan(NumericsTestData.relativeError(x, y), 0.0058)
    }

    func testInt8ErrorWithinHalfStepOfStoredScale() {
        // Gaussian rows with a few large outliers, the case that tempts a search to clip.
        var x = Array(Self.weights.prefix(8 * 1000))
        for i in stride(from: 17, to: x.count, by: 97) { x[i] *= 12 }
        let (tile, y) = roundtrip(x, rows: 8, cols: 1000, .int8)
        XCTAssertTrue(tile.mins.isEmpty)
        for row in 0..<8 {
            for col in 0..<1000 {
                let i = row * 1000 + col
                let d = HalfPrecision.f16ToFloat(tile.scales[row * tile.groupsPerRow + col / 128])
                XCTAssertLessThanOrEqual(abs(x[i] - y[i]), 0.5 * d + 1e-6 * abs(x[i]), "row \(row) col \(col)")
            }
        }
    }

    func testAllZeroTileDequantizesToZero() {
        let zeros = [Float](repeating: 0, count: 3 * 200)
        for format in QuantFormat.allCases {
            let (tile, y) = roundtrip(zeros, rows: 3, cols: 200, format, groupSize: format == .fp16 ? 0 : 64)
            XCTAssertEqual(y, zeros, "\(format)")
            XCTAssertTrue(tile.scales.allSatisfy { $0 == 0 } && tile.mins.allSatisfy { $0 == 0 }, "\(format)")
        }
    }

    /// A constant group has no range: d = 0 and m carries the value, exact when m is an f16 value.
    func testConstantGroupIsExactForAsymmetricFormats() {
        let x = [Float](repeating: -0.75, count: 2 * 96)
        for format in [QuantFormat.int4, .int3, .int2] {
            let (_, y) = roundtrip(x, rows: 2, cols: 96, format, groupSize: 32)
            XCTAssertEqual(y, x, "\(format)")
        }
    }

    func testPartialLastGroupIsQuantizedOnItsOwn() {
        // 200 columns in groups of 128: the last group of each row holds 72 values, and must come out
        // exactly as a 72-column tile quantized alone.
        let rows = 3, cols = 200
        let x = Array(Self.weights.prefix(rows * cols))
        for format in [QuantFormat.int8, .int4, .int3, .int2] {
            let (tile, y) = roundtrip(x, rows: rows, cols: cols, format, groupSize: 128)
            XCTAssertEqual(tile.groupsPerRow, 2)
            XCTAssertEqual(tile.rowStride, format.packedBytes(count: cols))
            XCTAssertEqual(tile.codes.count, rows * tile.rowStride)
            XCTAssertEqual(tile.scales.count, rows * 2)
            XCTAssertEqual(tile.mins.count, format.isSymmetric ? 0 : rows * 2)
            let tails = (0..<rows).flatMap { x[($0 * cols + 128)..<(($0 + 1) * cols)] }
            let (_, tailAlone) = roundtrip(tails, rows: rows, cols: 72, format, groupSize: 128)
            let tailInTile = (0..<rows).flatMap { y[($0 * cols + 128)..<(($0 + 1) * cols)] }
            XCTAssertEqual(tailInTile, tailAlone, "\(format)")
        }
    }

    func testQuantizationIsDeterministic() {
        let x = Array(Self.weights.prefix(4 * 256))
        for format in QuantFormat.allCases {
            XCTAssertEqual(roundtrip(x, rows: 4, cols: 256, format, groupSize: 64).0,
                           roundtrip(x, rows: 4, cols: 256, format, groupSize: 64).0, "\(format)")
        }
    }

    func testFP16PassthroughIsBitExact() {
        var generator = SplitMix64(seed: 5)
        let finite = { (decode: (UInt16) -> Float) -> [Float] in
            var values = [Float]()
            while values.count < 4 * 300 {
                let value = decode(UInt16(truncatingIfNeeded: generator.next()))
                if value.isFinite { values.append(value) }
            }
            return values
        }
        let halves = finite(HalfPrecision.f16ToFloat)
        let (f16Tile, f16Back) = roundtrip(halves, rows: 4, cols: 300, .fp16)
        XCTAssertEqual(f16Back.map(\.bitPattern), halves.map(\.bitPattern))
        XCTAssertFalse(f16Tile.halfIsBF16)
        XCTAssertEqual(f16Tile.codes.count, 2 * halves.count)
        XCTAssertTrue(f16Tile.scales.isEmpty && f16Tile.mins.isEmpty)
        // Little-endian 16-bit values.
        let first = HalfPrecision.floatToF16(halves[0])
        XCTAssertEqual(Array(f16Tile.codes.prefix(2)), [UInt8(first & 0xFF), UInt8(first >> 8)])

        let brains = finite(HalfPrecision.bf16ToFloat)
        let (bf16Tile, bf16Back) = roundtrip(brains, rows: 4, cols: 300, .fp16, halfIsBF16: true)
        XCTAssertTrue(bf16Tile.halfIsBF16)
        XCTAssertEqual(bf16Back.map(\.bitPattern), brains.map(\.bitPattern))
    }
}
