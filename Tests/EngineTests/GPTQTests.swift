import Foundation
import TestSupport
import XCTest
@testable import Engine

/// GPTQ rounding against RTN and importance-weighted scales on a correlated synthetic H, its exact cases (H = I,
/// dead columns, determinism, bad input), and a reference implementation (scripts/gptq_reference.py).
final class GPTQTests: XCTestCase {
    override func setUp() { BLASThreads.useOne() }

    /// Activations X [samples x cols]: a rank-`rank` signal plus noise, every 16th column with 4x the spread;
    /// H = XᵀX. Weights: Gaussian rows.
    struct Layer {
        let rows: Int, cols: Int
        let w: [Float]
        let h: [Double]

        init(rows: Int, cols: Int, samples: Int, rank: Int = 16, seed: UInt64) {
            self.rows = rows; self.cols = cols
            let factors = NumericsTestData.gaussian(count: samples * rank, seed: seed)
            let basis = NumericsTestData.gaussian(count: rank * cols, seed: seed + 1)
            let noise = NumericsTestData.gaussian(count: samples * cols, seed: seed + 2)
            var x = [Double](repeating: 0, count: samples * cols)
            for s in 0..<samples {
                for j in 0..<cols {
                    var v = 0.3 * Double(noise[s * cols + j])
                    for k in 0..<rank { v += Double(factors[s * rank + k] * basis[k * cols + j]) / Double(rank).squareRoot() }
                    x[s * cols + j] = j % 16 == 3 ? 4 * v : v
                }
            }
            var h = [Double](repeating: 0, count: cols * cols)
            for s in 0..<samples {
                let row = x[(s * cols)..<((s + 1) * cols)]
                for i in 0..<cols where row[s * cols + i] != 0 {
                    let xi = row[s * cols + i]
                    for j in 0..<cols { h[i * cols + j] += xi * row[s * cols + j] }
                }
            }
            self.h = h
            w = NumericsTestData.gaussian(count: rows * cols, seed: seed + 3).map { $0 * 0.02 }
        }

        func loss(_ tile: QuantizedTile) throws -> Double {
            try ProxyLoss.of(w, GroupQuantizer.dequantize(tile), rows: rows, cols: cols, hessian: h)
        }

        var diagonal: [Float] { (0..<cols).map { Float(h[$0 * cols + $0]) } }
    }

    func rtn(_ layer: Layer, _ format: QuantFormat, _ g: Int) -> QuantizedTile {
        layer.w.withUnsafeBufferPointer { GroupQuantizer.quantize($0, rows: layer.rows, cols: layer.cols, format: format, groupSize: g, symmetric: true) }
    }

    func testProxyLossBelowRTNAndImportanceWeighting() throws {
        let layer = Layer(rows: 32, cols: 384, samples: 768, seed: 11)
        for (format, g) in [(QuantFormat.int4, 128), (.int3, 128), (.int2, 64)] {
            let rtnLoss = try layer.loss(rtn(layer, format, g))
            let importance = try layer.loss(ImportanceQuantizer.quantize(layer.w, rows: layer.rows, cols: layer.cols, importance: layer.diagonal,
                                                                         format: format, groupSize: g))
            let gptq = try layer.loss(GPTQ.quantize(layer.w, rows: layer.rows, cols: layer.cols, hessian: layer.h,
                                                    options: GPTQOptions(format: format, groupSize: g)))
            let absMax = try layer.loss(GPTQ.quantize(layer.w, rows: layer.rows, cols: layer.cols, hessian: layer.h,
                                                      options: GPTQOptions(format: format, groupSize: g, scaleRule: .absMax)))
            let actOrder = try layer.loss(GPTQ.quantize(layer.w, rows: layer.rows, cols: layer.cols, hessian: layer.h,
                                                        options: GPTQOptions(format: format, groupSize: g, actOrder: true)))
            print(String(format: "proxy loss %@ g%d: RTN %.4g; GPTQ/RTN %.3f, GPTQ(absmax)/RTN %.3f, GPTQ act-order/RTN %.3f, imatrix/RTN %.3f",
                         format.rawValue, g, rtnLoss, gptq / rtnLoss, absMax / rtnLoss, actOrder / rtnLoss, importance / rtnLoss))
            XCTAssertLessThan(gptq, 0.8 * rtnLoss, "\(format) g\(g)")
            XCTAssertLessThan(gptq, importance, "\(format) g\(g)")
            XCTAssertLessThan(importance, rtnLoss * 1.001, "\(format) g\(g)")
        }
    }

    /// With H = I there is nothing to compensate: the codes and scales are RTN's.
    func testIdentityHessianGivesRTNCodes() throws {
        let layer = Layer(rows: 8, cols: 256, samples: 1, seed: 5)
        var identity = [Double](repeating: 0, count: 256 * 256)
        for j in 0..<256 { identity[j * 256 + j] = 1 }
        for (format, g) in [(QuantFormat.int4, 128), (.int3, 64), (.int2, 64), (.int8, 128)] {
            let gptq = try GPTQ.quantize(layer.w, rows: 8, cols: 256, hessian: identity, options: GPTQOptions(format: format, groupSize: g))
            XCTAssertEqual(gptq, rtn(layer, format, g), "\(format) g\(g)")
        }
    }

    func testDeterministicBytes() throws {
        let layer = Layer(rows: 16, cols: 256, samples: 300, seed: 7)
        for actOrder in [false, true] {
            let options = GPTQOptions(format: .int3, groupSize: 64, actOrder: actOrder)
            let a = try GPTQ.quantize(layer.w, rows: 16, cols: 256, hessian: layer.h, options: options)
            let b = try GPTQ.quantize(layer.w, rows: 16, cols: 256, hessian: layer.h, options: options)
            XCTAssertEqual(a, b)
            XCTAssertEqual(Digest.sha256Hex(a.codes), Digest.sha256Hex(b.codes))
        }
    }

    /// Rows are independent: row tiles quantized against one shared factor are the whole layer's rows.
    func testRowTilesShareOneFactor() throws {
        let layer = Layer(rows: 24, cols: 256, samples: 300, seed: 13)
        for actOrder in [false, true] {
            let options = GPTQOptions(format: .int4, groupSize: 64, actOrder: actOrder)
            let whole = try GPTQ.quantize(layer.w, rows: 24, cols: 256, hessian: layer.h, options: options)
            let factor = try layer.h.withUnsafeBufferPointer { try GPTQHessianFactor(hessian: $0, cols: 256, options: options) }
            let top = try GPTQ.quantize(Array(layer.w[0..<(8 * 256)]), rows: 8, cols: 256, factor: factor, options: options)
            let bottom = try GPTQ.quantize(Array(layer.w[(8 * 256)...]), rows: 16, cols: 256, factor: factor, options: options)
            XCTAssertEqual(top.codes + bottom.codes, whole.codes)
            XCTAssertEqual(top.scales + bottom.scales, whole.scales)
            XCTAssertThrowsError(try GPTQ.quantize(layer.w, rows: 24, cols: 256, factor: factor, options: GPTQOptions(format: .int4, groupSize: 64, actOrder: !actOrder)))
        }
    }

    /// Throughput at SmolLM2's down_proj width (1536 inputs): the per-layer factor, then a 128-row tile.
    func testSpeedAtALayerWidth() throws {
        let cols = 1536, rows = 128
        // Kac-Murdock-Szegő correlations (ρ^|i-j|, positive definite) with every 16th column louder.
        var h = [Double](repeating: 0, count: cols * cols)
        for i in 0..<cols { for j in 0..<cols { h[i * cols + j] = pow(0.9, Double(abs(i - j))) * (i % 16 == 3 ? 4 : 1) * (j % 16 == 3 ? 4 : 1) } }
        let w = NumericsTestData.gaussian(count: rows * cols, seed: 17).map { $0 * 0.02 }
        let options = GPTQOptions(format: .int4, groupSize: 128)
        var start = Date()
        let factor = try h.withUnsafeBufferPointer { try GPTQHessianFactor(hessian: $0, cols: cols, options: options) }
        let factorSeconds = Date().timeIntervalSince(start)
        start = Date()
        let tile = try GPTQ.quantize(w, rows: rows, cols: cols, factor: factor, options: options)
        let tileSeconds = Date().timeIntervalSince(start)
        let rtnTile = w.withUnsafeBufferPointer { GroupQuantizer.quantize($0, rows: rows, cols: cols, format: .int4, groupSize: 128, symmetric: true) }
        let ratio = try ProxyLoss.of(w, GroupQuantizer.dequantize(tile), rows: rows, cols: cols, hessian: h)
            / ProxyLoss.of(w, GroupQuantizer.dequantize(rtnTile), rows: rows, cols: cols, hessian: h)
        print(String(format: "GPTQ speed: factor of a %d-column H %.2f s; %d x %d tile %.2f s (%.2f M weights/s); proxy loss GPTQ/RTN %.3f",
                     cols, factorSeconds, rows, cols, tileSeconds, Double(rows * cols) / tileSeconds / 1e6, ratio))
        XCTAssertLessThan(factorSeconds + tileSeconds, 60)
        XCTAssertLessThan(ratio, 1)
    }

    /// A column whose input is always 0 (H_ii = 0) costs nothing: it is stored as 0 and the rest stays finite.
    func testDeadColumns() throws {
        var layer = Layer(rows: 8, cols: 128, samples: 200, seed: 9)
        var h = layer.h
        for j in [0, 5, 127] { for k in 0..<128 { h[j * 128 + k] = 0; h[k * 128 + j] = 0 } }
        layer = Layer(copying: layer, hessian: h)
        for actOrder in [false, true] {
            let tile = try GPTQ.quantize(layer.w, rows: 8, cols: 128, hessian: h, options: GPTQOptions(format: .int4, groupSize: 32, actOrder: actOrder))
            let q = GroupQuantizer.dequantize(tile)
            XCTAssertTrue(q.allSatisfy(\.isFinite))
            for r in 0..<8 { for j in [0, 5, 127] { XCTAssertEqual(q[r * 128 + j], 0) } }
            XCTAssertLessThan(try layer.loss(tile), try layer.loss(rtn(layer, .int4, 32)))
        }
    }

    func testBadInputIsRefusedWithAnError() throws {
        let layer = Layer(rows: 4, cols: 64, samples: 80, seed: 3)
        let options = GPTQOptions(format: .int4, groupSize: 32)
        var w = layer.w
        w[70] = .nan
        XCTAssertThrowsError(try GPTQ.quantize(w, rows: 4, cols: 64, hessian: layer.h, options: options)) { error in
            XCTAssertEqual(error as? CalibrationError, .nonFinite("weight [1, 6] = nan"))
        }
        var h = layer.h
        h[65] = .infinity
        XCTAssertThrowsError(try GPTQ.quantize(layer.w, rows: 4, cols: 64, hessian: h, options: options)) { error in
            guard case .nonFinite? = error as? CalibrationError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try GPTQ.quantize(layer.w, rows: 4, cols: 64, hessian: Array(layer.h.prefix(100)), options: options))
        XCTAssertThrowsError(try GPTQ.quantize(layer.w, rows: 4, cols: 64, hessian: layer.h, options: GPTQOptions(format: .fp16)))
        var negative = layer.h
        for j in 0..<64 { negative[j * 64 + j] = -negative[j * 64 + j] }
        XCTAssertThrowsError(try GPTQ.quantize(layer.w, rows: 4, cols: 64, hessian: negative, options: options))
        XCTAssertThrowsError(try ImportanceQuantizer.quantize(w, rows: 4, cols: 64, importance: layer.diagonal, format: .int4))
    }

    /// scripts/gptq_reference.py: 16 x 256, int4 g64, absmax scales, no act-order, H from small-integer X (exact).
    func testMatchesReferenceImplementation() throws {
        let url = URL(fileURLWithPath: TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/gptq/gptq_int4_g64.json")
        let fixture = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let rows = try XCTUnwrap(fixture["rows"] as? Int), cols = try XCTUnwrap(fixture["cols"] as? Int)
        let samples = try XCTUnwrap(fixture["samples"] as? Int)
        let x = try XCTUnwrap(fixture["x_digits"] as? String).utf8.map { Double(Int($0) - 48 - 4) }
        XCTAssertEqual(x.count, samples * cols)
        var h = [Double](repeating: 0, count: cols * cols)
        for s in 0..<samples { for i in 0..<cols where x[s * cols + i] != 0 { for j in 0..<cols { h[i * cols + j] += x[s * cols + i] * x[s * cols + j] } } }
        let w = try XCTUnwrap(fixture["w"] as? [Double]).map(Float.init)
        let expectedScales = try XCTUnwrap(fixture["scales_f16_bits"] as? [Int]).map(UInt16.init)
        let expectedLevels = try XCTUnwrap(fixture["codes_hex"] as? String).map { Int($0.hexDigitValue!) - 8 }

        let tile = try GPTQ.quantize(w, rows: rows, cols: cols, hessian: h,
                                     options: GPTQOptions(format: .int4, groupSize: 64, dampingFraction: 0.01, blockSize: 128, scaleRule: .absMax))
        let levels = try unpackedLevels(tile)
        let sameCodes = zip(levels, expectedLevels).filter { $0 == $1 }.count
        let sameScales = zip(tile.scales, expectedScales).filter { $0 == $1 }.count
        print("GPTQ reference: \(sameCodes)/\(levels.count) codes and \(sameScales)/\(expectedScales.count) scales identical")
        XCTAssertEqual(tile.scales, expectedScales)
        XCTAssertEqual(levels, expectedLevels)
    }

    func unpackedLevels(_ tile: QuantizedTile) throws -> [Int] {
        var out: [Int] = []
        var row = [UInt8](repeating: 0, count: tile.cols)
        for r in 0..<tile.rows {
            tile.codes.withUnsafeBufferPointer { packed in
                row.withUnsafeMutableBufferPointer {
                    tile.format.unpack(packed: UnsafeBufferPointer(rebasing: packed[(r * tile.rowStride)..<((r + 1) * tile.rowStride)]), count: tile.cols, into: $0)
                }
            }
            out += row.map { Int($0) - Int(tile.format.symmetricCodeOffset) }
        }
        return out
    }
}

extension GPTQTests.Layer {
    init(copying layer: Self, hessian: [Double]) {
        self.init(rows: layer.rows, cols: layer.cols, w: layer.w, h: hessian)
    }

    private init(rows: Int, cols: Int, w: [Float], h: [Double]) {
        self.rows = rows; self.cols = cols; self.w = w; self.h = h
    }
}
