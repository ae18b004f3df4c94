@testable import Engine
@testable import Kernels
import Foundation
import TestSupport
import XCTest

/// The k-quant block formats: dequantize bit-exact against llama.cpp's gguf package, llama.cpp's reference
/// quantizers within their grid, and our search never worse than them.
final class GGMLKQuantTests: XCTestCase {
    static let kQuants: [GGMLType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    func testDequantizeMatchesGGUFBitwise() throws {
        let folder = TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/ggml/"
        for type in Self.kQuants {
            let blocks = try Data(contentsOf: URL(fileURLWithPath: folder + type.rawValue + ".blocks"))
            let expected = try Data(contentsOf: URL(fileURLWithPath: folder + type.rawValue + ".dequant.f32"))
            let count = blocks.count / type.blockBytes
            XCTAssertEqual(count, 64, type.rawValue)
            XCTAssertEqual(expected.count, count * 256 * 4, type.rawValue)
            var y = [Float](repeating: .nan, count: count * 256)
            blocks.withUnsafeBytes { b in type.dequantizeRow(b.baseAddress!, columns: count * 256, into: &y) }
            var mismatches = 0
            expected.withUnsafeBytes { e in
                for i in 0..<(count * 256) where e.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian != y[i].bitPattern {
                    if mismatches < 3 { XCTFail("\(type.rawValue) weight \(i): \(y[i]) vs gguf \(e.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))") }
                    mismatches += 1
                }
            }
            XCTAssertEqual(mismatches, 0, type.rawValue)
        }
    }

    /// Reference and ours both stay within a per-type relative error on gaussian weights, write an all-zero
    /// block as zeros, and are deterministic.
    func testRoundTripBounds() {
        // Relative RMS error bounds for gaussian super-blocks (plain / importance-weighted paths alike).
        let bounds: [GGMLType: Double] = [.q2_K: 0.45, .q3_K: 0.25, .q4_K: 0.12, .q5_K: 0.06, .q6_K: 0.03]
        let x = KQuantTestData.blocks(.gaussian, count: 64, seed: 1)
        let importance = KQuantTestData.importance(count: 64, seed: 2)
        for type in Self.kQuants {
            for reference in [true, false] {
                for weighted in [false, true] {
                    let label = "\(type.rawValue) \(reference ? "reference" : "ours") \(weighted ? "importance" : "plain")"
                    let bytes = KQuantTestData.quantize(type, x, importance: weighted ? importance : nil, reference: reference)
                    let y = KQuantTestData.dequantize(type, bytes, count: x.count)
                    XCTAssertTrue(y.allSatisfy(\.isFinite), label)
                    var signal = 0.0, noise = 0.0
                    for i in x.indices { signal += Double(x[i] * x[i]); noise += Double((x[i] - y[i]) * (x[i] - y[i])) }
                    XCTAssertLessThan((noise / signal).squareRoot(), bounds[type]!, label)
                    XCTAssertEqual(bytes, KQuantTestData.quantize(type, x, importance: weighted ? importance : nil, reference: reference), "\(label) deterministic")
                    let zero = KQuantTestData.quantize(type, [Float](repeating: 0, count: 256), importance: nil, reference: reference)
                    XCTAssertTrue(KQuantTestData.dequantize(type, zero, count: 256).allSatisfy { $0 == 0 }, "\(label) zero block")
                }
            }
        }
    }

    /// Our search against llama.cpp's on the same super-blocks: never worse on any block, better in total.
    func testOursBeatsReference() {
        let blocks = 1000
        let samples: [(String, [Float])] = [
            ("gaussian", KQuantTestData.blocks(.gaussian, count: blocks, seed: 11)),
            ("student-t(3)", KQuantTestData.blocks(.studentT3, count: blocks, seed: 12)),
        ]
        let importance = KQuantTestData.importance(count: blocks, seed: 13)
        for type in Self.kQuants {
            var line = "\(type.rawValue) ours / reference squared error:"
            for (name, x) in samples {
                for weighted in [false, true] {
                    let w = weighted ? importance : nil
                    let ours = KQuantTestData.blockErrors(type, x, importance: w, reference: false)
                    let reference = KQuantTestData.blockErrors(type, x, importance: w, reference: true)
                    let worse = zip(ours, reference).filter { $0 > $1 }.count
                    XCTAssertEqual(worse, 0, "\(type.rawValue) \(name) weighted \(weighted): blocks where ours is worse")
                    let ratio = ours.reduce(0, +) / reference.reduce(0, +)
                    XCTAssertLessThan(ratio, 1, "\(type.rawValue) \(name) weighted \(weighted)")
                    line += String(format: " %@%@ %.4f", name, weighted ? "+imatrix" : "", ratio)
                }
            }
            print(line)
        }
    }

    /// Single-thread throughput of the reference and our search (printed, not asserted), in thread CPU time so
    /// other processes on the machine do not skew it.
    func testThroughput() {
        let blocks = 400
        let x = KQuantTestData.blocks(.gaussian, count: blocks, seed: 21)
        let importance = KQuantTestData.importance(count: blocks, seed: 22)
        for type in Self.kQuants {
            var line = "\(type.rawValue) M weights/s:"
            for (label, reference, w) in [("reference", true, nil), ("ours", false, nil),
                                          ("reference+imatrix", true, importance), ("ours+imatrix", false, importance)] as [(String, Bool, [Float]?)] {
                let start = threadSeconds()
                _ = KQuantTestData.quantize(type, x, importance: w, reference: reference)
                let seconds = threadSeconds() - start
                line += String(format: " %@ %.1f", label, Double(x.count) / seconds / 1e6)
            }
            print(line)
        }
    }

    private func threadSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// Deterministic super-blocks for the k-quant tests.
enum KQuantTestData {
    enum Distribution { case gaussian, studentT3 }

    /// `count` super-blocks; each gets its own scale (1e-3 to 1) so the f16 super-block scales vary.
    static func blocks(_ distribution: Distribution, count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        var x = [Float](repeating: 0, count: count * 256)
        for b in 0..<count {
            let scale = pow(10, -3 * uniform(&g))
            for i in 0..<256 {
                let v: Double
                switch distribution {
                case .gaussian: v = normal(&g)
                case .studentT3:
                    let chi2 = (0..<3).reduce(0.0) { s, _ in let z = normal(&g); return s + z * z }
                    v = normal(&g) / (chi2 / 3).squareRoot()
                }
                x[256 * b + i] = Float(v * scale)
            }
        }
        return x
    }

    /// Log-normal per-weight importance, as an imatrix's column energies spread.
    static func importance(count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<(count * 256)).map { _ in Float(exp(normal(&g))) }
    }

    static func uniform(_ g: inout SplitMix64) -> Double { (Double(g.next() >> 11) + 0.5) * 0x1p-53 }

    static func normal(_ g: inout SplitMix64) -> Double {
        (-2 * log(uniform(&g))).squareRoot() * cos(2 * Double.pi * uniform(&g))
    }

    static func quantize(_ type: GGMLType, _ x: [Float], importance: [Float]?, reference: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.rowBytes(columns: x.count)!)
        out.withUnsafeMutableBytes { o in
            if let importance {
                importance.withUnsafeBufferPointer { w in
                    type.quantizeRow(x, columns: x.count, importance: w.baseAddress, reference: reference, into: o.baseAddress!)
                }
            } else {
                type.quantizeRow(x, columns: x.count, reference: reference, into: o.baseAddress!)
            }
        }
        return out
    }

    static func dequantize(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
        var y = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { type.dequantizeRow($0.baseAddress!, columns: count, into: &y) }
        return y
    }

    /// Per super-block squared error, weighted as the search weights it: by the importance when given, else by
    /// the weights llama.cpp's reference fits that type with (|x|, x^2, |x| + RMS).
    static func blockErrors(_ type: GGMLType, _ x: [Float], importance: [Float]?, reference: Bool) -> [Double] {
        let y = dequantize(type, quantize(type, x, importance: importance, reference: reference), count: x.count)
        var w = importance ?? [Float](repeating: 0, count: x.count)
        if importance == nil, let grid = type.codec as? any KQuantGrid.Type {
            x.withUnsafeBufferPointer { xs in
                w.withUnsafeMutableBufferPointer { ws in
                    for b in 0..<(x.count / 256) { grid.referenceWeights(xs.baseAddress! + 256 * b, into: ws.baseAddress! + 256 * b) }
                }
            }
        }
        return (0..<(x.count / 256)).map { b in
            (256 * b..<256 * b + 256).reduce(0.0) { s, i in
                let r = Double(x[i]) - Double(y[i])
                return s + Double(w[i]) * r * r
            }
        }
    }
}
