import Foundation
import TestSupport
import XCTest
@testable import Engine

/// GPTQ inside ggml grids (GGMLBlockLDLQ) on the correlated synthetic H of GPTQTests: below the same format's
/// search under diag(H) (what an importance matrix gives) in tr((W - Q) H (W - Q)ᵀ), for a k-quant rounded
/// column by column in fixed scales and for 32-weight formats rounded block by block; same bytes twice; bad
/// input refused by name.
final class GGMLBlockLDLQTests: XCTestCase {
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
        for type in [GGMLType.q2_K, .q3_K, .q4_K, .q6_K, .iq4_nl, .q4_0, .q5_0] {
            let plain = try loss(searched(type, importance: nil), type)
            let weighted = try loss(searched(type, importance: GGMLBlockLDLQ.importanceWeights(l.h, cols: l.cols)), type)
            let gptq = try loss(GGMLBlockLDLQ.quantize(l.w, rows: l.rows, cols: l.cols, type: type, hessian: l.h, dampingFraction: 0.01), type)
            print(String(format: "proxy loss %@: search %.4g; diag(H)-weighted/search %.3f, GPTQ/search %.3f", type.rawValue, plain, weighted / plain, gptq / plain))
            XCTAssertLessThan(gptq, 0.9 * weighted, type.rawValue)
            XCTAssertLessThan(weighted, plain * 1.001, type.rawValue)
        }
    }

    func testSameBytesTwice() throws {
        let l = Self.layer
        for type in [GGMLType.q3_K, .iq4_nl] {
            let a = try GGMLBlockLDLQ.quantize(l.w, rows: l.rows, cols: l.cols, type: type, hessian: l.h, dampingFraction: 0.01)
            let b = try GGMLBlockLDLQ.quantize(l.w, rows: l.rows, cols: l.cols, type: type, hessian: l.h, dampingFraction: 0.01)
            XCTAssertEqual(a, b, type.rawValue)
        }
    }

    func testBadInputIsRefused() {
        let l = Self.layer
        XCTAssertThrowsError(try GGMLBlockLDLQ.quantize(Array(l.w.prefix(16 * 500)), rows: 16, cols: 500, type: .q4_K, hessian: l.h, dampingFraction: 0.01)) {
            XCTAssertTrue("\($0)".contains("whole blocks of 256"), "\($0)")
        }
        var w = l.w
        w[7] = .nan
        XCTAssertThrowsError(try GGMLBlockLDLQ.quantize(w, rows: l.rows, cols: l.cols, type: .q4_0, hessian: l.h, dampingFraction: 0.01)) {
            XCTAssertTrue("\($0)".contains("weight [0, 7]"), "\($0)")
        }
        XCTAssertThrowsError(try GGMLBlockLDLQ.quantize(l.w, rows: l.rows, cols: l.cols, type: .f16, hessian: l.h, dampingFraction: 0.01))
    }
}
