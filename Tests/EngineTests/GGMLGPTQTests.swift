import Foundation
import TestSupport
import XCTest
@testable import Engine

/// GPTQ inside ggml grids (GGMLGPTQ) on the correlated synthetic H of GPTQTests: below the same format's
/// search under diag(H) (what an importance matrix gives) in tr((W - Q) H (W - Q)ᵀ), for a k-quant rounded
/// column by column in fixed scales and for 32-weight formats rounded block by block; same bytes twice; bad
/// input refused by name.
final class GGMLGPTQTests: XCTestCase {
    override func setUp() { BLASThreads.useOne() }

    static let layer = GPTQTests.Layer(rows: 16, cols: 512, samples: 512, seed: 21)

    func loss(_ bytes: [UInt8], _ type: GGMLType) throws -> Double {
        let l = Self.layer
        var y = [Float](repeating: 0, count: l.rows * l.cols)
        let rowBytes = try XCTUnwrap(type.rowBytes(columns: l.cols))
        XCTAssertEqual(bytes.count, l.rows * rowBytes)
        bytes.withUnsafeBytes { b in
            for r in 0..<l.rows { type.dequantizeRow(b.baseAddress! + r * rowBytes, columns: l.cols, into: &y[r * l.cols]) }
        }
        return try ProxyLoss.of(l.w, y, rows: l.rows, cols: l.cols, hessian: l.h)
    }

    func searched(_ type: GGMLType, importance: [Float]?) -> [UInt8] {
        let l = Self.layer, rowBytes = type.rowBytes(columns: l.cols)!
        var out = [UInt8](repeating: 0, count: l.rows * rowBytes)
        out.withUnsafeMutableBytes { o in
            l.w.withUnsafeBufferPointer { w in
                for r in 0..<l.rows {
                    if let importance {
                        importance.withUnsafeBufferPointer {
                            type.quantizeRow(w.baseAddress! + r * l.cols, columns: l.cols, importance: $0.baseAddress!, into: o.baseAddress! + r * rowBytes)
                        }
                    } else {
                        type.quantizeRow(w.baseAddress! + r * l.cols, columns: l.cols, into: o.baseAddress! + r * rowBytes)
                    }
                }
            }
        }
        return out
    }

    func testProxyLossBelowTheImportanceWeightedSearch() throws {
        let l = Self.layer
        for type in [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            let plain = try loss(searched(type, importance: nil), type)
            let weighted = try loss(searched(type, importance: GGMLGPTQ.importanceWeights((0..<l.cols).map { l.h[$0 * l.cols + $0] })), type)
            let gptq = try loss(GGMLGPTQ.quantize(l.w, rows: l.rows, cols: l.cols, type: type, hessian: l.h, dampingFraction: 0.01), type)
            print(String(format: "proxy loss %@: search %.4g; diag(H)-weighted/search %.3f, GPTQ/search %.3f", type.rawValue, plain, weighted / plain, gptq / plain))
            XCTAssertLessThan(gptq, 0.5 * weighted, type.rawValue)
            XCTAssertLessThan(weighted, plain * 1.001, type.rawValue)
        }
    }

    /// Each block's codes, read back as the nearest level of its fixed grid to what dequantize gives, and written
    /// with setGridCodes, leave the block's bytes as they were.
    func testFixedGridsRoundTripEveryType() throws {
        let x = NumericsTestData.gaussian(count: 256, seed: 3)
        for type in GGMLType.allCases where type.isQuantized {
            let grid = try XCTUnwrap(type.fixedGrid, type.rawValue)
            let n = type.blockElements, sub = grid.gridSubBlockSize, levels = grid.gridLevels
            var block = [UInt8](repeating: 0, count: type.blockBytes), y = [Float](repeating: 0, count: n)
            var a = [Float](repeating: 0, count: n / sub), b = [Float](repeating: 0, count: n / sub)
            type.codec.quantize(x, importance: nil, into: &block)
            type.codec.dequantize(block, into: &y)
            grid.gridMaps(block, a: &a, b: &b)
            var codes = [UInt8](repeating: 0, count: n)
            for e in 0..<n {
                let values = levels.map { a[e / sub] * $0 - b[e / sub] }
                let c = values.indices.min { abs(values[$0] - y[e]) < abs(values[$1] - y[e]) }!
                XCTAssertEqual(values[c], y[e], accuracy: 1e-6 * max(1, abs(y[e])), "\(type.rawValue) weight \(e)")
                codes[e] = UInt8(c)
            }
            var rewritten = block
            rewritten.withUnsafeMutableBytes { grid.setGridCodes($0.baseAddress!, codes: codes) }
            XCTAssertEqual(rewritten, block, type.rawValue)
        }
    }

    func testSameBytesTwice() throws {
        let l = Self.layer
        for type in [GGMLType.q3_K, .iq4_nl] {
            let a = try GGMLGPTQ.quantize(l.w, rows: l.rows, cols: l.cols, type: type, hessian: l.h, dampingFraction: 0.01)
            let b = try GGMLGPTQ.quantize(l.w, rows: l.rows, cols: l.cols, type: type, hessian: l.h, dampingFraction: 0.01)
            XCTAssertEqual(a, b, type.rawValue)
        }
    }

    func testBadInputIsRefused() {
        let l = Self.layer
        XCTAssertThrowsError(try GGMLGPTQ.quantize(Array(l.w.prefix(16 * 500)), rows: 16, cols: 500, type: .q4_K, hessian: l.h, dampingFraction: 0.01)) {
            XCTAssertTrue("\($0)".contains("whole blocks of 256"), "\($0)")
        }
        var w = l.w
        w[7] = .nan
        XCTAssertThrowsError(try GGMLGPTQ.quantize(w, rows: l.rows, cols: l.cols, type: .q4_0, hessian: l.h, dampingFraction: 0.01)) {
            XCTAssertTrue("\($0)".contains("weight [0, 7]"), "\($0)")
        }
        XCTAssertThrowsError(try GGMLGPTQ.quantize(l.w, rows: l.rows, cols: l.cols, type: .f16, hessian: l.h, dampingFraction: 0.01))
    }
}
