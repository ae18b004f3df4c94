import Engine
import Foundation
import TestSupport
import XCTest

/// The non-k-quant ggml formats against llama.cpp's own Python package (fixtures from scripts/ggml_fixtures.py),
/// ggml's float conversion rules, and our quantizer against llama.cpp's.
final class GGMLBlockFormatTests: XCTestCase {
    static let quantized: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl, .iq4_xs]
    /// The formats whose data-free blocks are llama.cpp's own (GGMLScaleRefit refits only under an importance).
    static let legacy: Set<GGMLType> = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]
    static let withQuantizeFixture: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .f16, .bf16]

    // MARK: Bit-exact against gguf

    func testDequantizeMatchesGGUFBitForBit() throws {
        for type in Self.quantized + [.f16, .bf16] {
            let blocks = try fixture(type, "blocks")
            let expected: [Float] = try fixtureFloats(type, "dequant.f32")
            let count = blocks.count / type.blockBytes
            XCTAssertEqual(expected.count, count * type.blockElements, "\(type)")
            var y = [Float](repeating: 0, count: count * type.blockElements)
            blocks.withUnsafeBytes { raw in
                y.withUnsafeMutableBufferPointer { type.dequantizeRow(raw.baseAddress!, columns: $0.count, into: $0.baseAddress!) }
            }
            let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }
            XCTAssertTrue(mismatches.isEmpty, "\(type): \(mismatches.count) values differ, first \(mismatches.first.map { "\($0)" } ?? "")")
        }
    }

    func testReferenceQuantizeMatchesGGUFByteForByte() throws {
        for type in Self.withQuantizeFixture {
            let x: [Float] = try fixtureFloats(type, "source.f32")
            let expected = try fixture(type, "quant")
            let columns = type.isQuantized ? 8 * type.blockElements : x.count
            XCTAssertEqual(x.count % columns, 0)
            var out = [UInt8](repeating: 0xAA, count: expected.count)
            x.withUnsafeBufferPointer { xs in
                out.withUnsafeMutableBytes { o in
                    for row in 0..<(x.count / columns) {
                        type.quantizeRow(xs.baseAddress! + row * columns, columns: columns, reference: true,
                                         into: o.baseAddress! + row * type.rowBytes(columns: columns)!)
                    }
                }
            }
            let differing = zip(out, expected).enumerated().filter { $1.0 != $1.1 }.map(\.offset)
            XCTAssertTrue(differing.isEmpty, "\(type): \(differing.count) bytes differ, first at \(differing.first ?? -1)")
        }
    }

    /// The row form of the importance-free reference is the plain reference, block by block.
    func testReferenceRowWithoutImportanceIsTheBlockReference() throws {
        for type: GGMLType in [.q4_0, .q4_1, .q5_0, .q5_1] {
            // GGMLType.quantizeRow with reference codes is the row-level reference for these types.
            let quantizeReferenceRow = { (x: UnsafePointer<Float>, columns: Int, w: UnsafePointer<Float>?, out: UnsafeMutableRawPointer) in
                type.quantizeRow(x, columns: columns, importance: w, reference: true, into: out)
            }
            let x: [Float] = try fixtureFloats(type, "source.f32")
            let expected = try fixture(type, "quant")
            var out = [UInt8](repeating: 0, count: expected.count)
            let columns = 8 * 32
            x.withUnsafeBufferPointer { xs in
                out.withUnsafeMutableBytes { o in
                    for row in 0..<8 {
                        quantizeReferenceRow(xs.baseAddress! + row * columns, columns, nil, o.baseAddress! + row * type.rowBytes(columns: columns)!)
                    }
                }
            }
            XCTAssertEqual(out, Array(expected), "\(type)")
        }
    }

    /// With importance, llama.cpp's sigma2 is the row's mean square: a one-block row must equal the block reference,
    /// and a longer row differs from block-by-block only through sigma2.
    func testReferenceRowWithImportanceUsesTheRowMeanSquare() {
        let columns = 1024
        var x = NumericsTestData.gaussian(count: columns, seed: 11)
        for j in 0..<256 { x[j] *= 8 }   // a loud first quarter: the row's sigma2 differs from each block's
        let importance = (0..<columns).map { Float(1 + ($0 * 7919) % 13) }
        for type: GGMLType in [.q4_0, .q4_1, .q5_0, .q5_1] {
            // GGMLType.quantizeRow with reference codes is the row-level reference for these types.
            let quantizeReferenceRow = { (x: UnsafePointer<Float>, columns: Int, w: UnsafePointer<Float>?, out: UnsafeMutableRawPointer) in
                type.quantizeRow(x, columns: columns, importance: w, reference: true, into: out)
            }
            let bytes = type.rowBytes(columns: columns)!
            var row = [UInt8](repeating: 0, count: bytes), blockwise = row, single = [UInt8](repeating: 0, count: type.blockBytes)
            var oneBlock = single
            x.withUnsafeBufferPointer { xs in
                importance.withUnsafeBufferPointer { w in
                    row.withUnsafeMutableBytes { quantizeReferenceRow(xs.baseAddress!, columns, w.baseAddress!, $0.baseAddress!) }
                    blockwise.withUnsafeMutableBytes { out in
                        for k in 0..<(columns / 32) {
                            type.codec.quantizeReference(xs.baseAddress! + 32 * k, importance: w.baseAddress! + 32 * k, into: out.baseAddress! + k * type.blockBytes)
                        }
                    }
                    single.withUnsafeMutableBytes { quantizeReferenceRow(xs.baseAddress!, 32, w.baseAddress!, $0.baseAddress!) }
                    oneBlock.withUnsafeMutableBytes {
                        type.codec.quantizeReference(xs.baseAddress!, importance: w.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
            XCTAssertEqual(single, oneBlock, "\(type)")
            XCTAssertNotEqual(row, blockwise, "\(type): the row's sigma2 should change some codes")
        }
    }

    // MARK: Float types as ggml converts them

    func testF32KeepsEveryBitPattern() {
        for bits: UInt32 in [0, 0x8000_0000, 0x0000_0001, 0x7F80_0000, 0xFF80_0000, 0x7F80_0001, 0x7FC1_2345, 0xFFFF_FFFF, 0x3F80_0000] {
            var x = Float(bitPattern: bits), y: Float = 0
            var stored: UInt32 = 0
            withUnsafeMutableBytes(of: &stored) { GGMLF32.quantize(&x, importance: nil, into: $0.baseAddress!) }
            XCTAssertEqual(UInt32(littleEndian: stored), bits)
            withUnsafeBytes(of: stored) { GGMLF32.dequantize($0.baseAddress!, into: &y) }
            XCTAssertEqual(y.bitPattern, bits)
        }
    }

    func testF16ConversionsFollowGGML() {
        // Round to nearest even, subnormals kept, overflow to infinity.
        let cases: [(Float, UInt16)] = [
            (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (-(1 + 3 * 0x1p-11), 0xBC02), (65504, 0x7BFF), (65519.996, 0x7BFF),
            (65520, 0x7C00), (-1e10, 0xFC00), (.infinity, 0x7C00), (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001),
            (3 * 0x1p-25, 0x0002), (-0.0, 0x8000), (0x1p-14, 0x0400),
        ]
        for (x, bits) in cases { XCTAssertEqual(GGMLF16.encode(x), bits, "\(x)") }
        // Every NaN narrows to the canonical quiet NaN, sign kept (ggml_compute_fp32_to_fp16).
        for nan: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0x7FBF_FFFF, 0x7FC0_2000] {
            XCTAssertEqual(GGMLF16.encode(Float(bitPattern: nan)), 0x7E00)
            XCTAssertEqual(GGMLF16.encode(Float(bitPattern: nan | 0x8000_0000)), 0xFE00)
        }
        // Widening is exact; NaNs come back quiet with their payload (ggml widens by a float multiply).
        XCTAssertEqual(GGMLF16.decode(0x0001).bitPattern, Float(0x1p-24).bitPattern)
        XCTAssertEqual(GGMLF16.decode(0x7C00), .infinity)
        XCTAssertEqual(GGMLF16.decode(0x7C01).bitPattern, 0x7FC0_2000)
        XCTAssertEqual(GGMLF16.decode(0xFD55).bitPattern, 0xFFEA_A000)
        XCTAssertEqual(GGMLF16.decode(0x7E00).bitPattern, 0x7FC0_0000)
        // Every non-NaN pattern survives the round trip.
        for bits in 0...UInt16.max where bits & 0x7C00 != 0x7C00 || bits & 0x03FF == 0 {
            XCTAssertEqual(GGMLF16.encode(GGMLF16.decode(bits)), bits)
        }
    }

    func testBF16ConversionsFollowGGML() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_8000, 0x3F80), (0x3F81_8000, 0x3F82), (0x3F80_8001, 0x3F81), (0x7F7F_FFFF, 0x7F80), (0x0000_0001, 0x0000),
            (0x0001_8000, 0x0002), (0x7F80_0000, 0x7F80), (0x7F80_0001, 0x7FC0), (0xFF81_0000, 0xFFC1), (0x7FFF_FFFF, 0x7FFF),
        ]
        for (bits, expected) in cases {
            var x = Float(bitPattern: bits)
            var stored: UInt16 = 0
            withUnsafeMutableBytes(of: &stored) { GGMLBF16.quantize(&x, importance: nil, into: $0.baseAddress!) }
            XCTAssertEqual(UInt16(littleEndian: stored), expected, String(bits, radix: 16))
        }
        var y: Float = 0
        withUnsafeBytes(of: UInt16(0x7F81).littleEndian) { GGMLBF16.dequantize($0.baseAddress!, into: &y) }
        XCTAssertEqual(y.bitPattern, 0x7F81_0000, "widening is a shift, a signalling NaN stays as it is")
    }

    // MARK: Our quantizer against llama.cpp's

    /// Ours is never worse than the reference on a block and better in total, on gaussian and heavy-tailed rows,
    /// with and without importance (the legacy formats: with it; without it they are the reference); the
    /// reference's round trip stays within its format's step.
    func testOursBeatsTheReferenceOnEveryBlock() {
        let rows = 2048, columns = 256
        let data: [(String, [Float])] = [("gaussian", Self.rows(rows, columns, heavyTailed: false, seed: 1)),
                                         ("heavy-tailed", Self.rows(rows, columns, heavyTailed: true, seed: 2))]
        let importance = Self.importance(columns, seed: 3)
        for type in Self.quantized {
            var line = "\(type.rawValue):"
            for (name, x) in data {
                for weighted in [false, true] {
                    let (ours, reference) = compare(type, x, columns: columns, importance: weighted ? importance : nil)
                    if !weighted, Self.legacy.contains(type) {
                        XCTAssertEqual(ours, reference, "\(type) \(name): data-free legacy blocks are llama.cpp's")
                    } else {
                        XCTAssertLessThan(ours, reference, "\(type) \(name) weighted \(weighted)")
                    }
                    line += String(format: "  %@%@ %.4f", name, weighted ? "+imatrix" : "", ours / reference)
                }
            }
            print("ours/reference weighted squared error, " + line)
        }
    }

    /// A block with an infinity or a NaN has no finite error to improve on: ours keeps the reference's bytes
    /// (and neither traps).
    func testNonFiniteBlocksKeepTheReference() {
        for type in Self.quantized {
            for special: Float in [.infinity, -.infinity, .nan] {
                var x = NumericsTestData.gaussian(count: type.blockElements, seed: 21)
                x[5] = special
                var ours = [UInt8](repeating: 0, count: type.blockBytes), reference = [UInt8](repeating: 1, count: type.blockBytes)
                ours.withUnsafeMutableBytes { type.codec.quantize(x, importance: nil, into: $0.baseAddress!) }
                reference.withUnsafeMutableBytes { type.codec.quantizeReference(x, importance: nil, into: $0.baseAddress!) }
                XCTAssertEqual(ours, reference, "\(type) \(special)")
            }
        }
    }

    /// Same input, same bytes.
    func testQuantizeIsDeterministic() {
        let x = Self.rows(64, 256, heavyTailed: true, seed: 9), importance = Self.importance(256, seed: 10)
        for type in Self.quantized {
            let bytes = type.rowBytes(columns: x.count)!
            var first = [UInt8](repeating: 0, count: bytes), second = [UInt8](repeating: 1, count: bytes)
            x.withUnsafeBufferPointer { xs in
                importance.withUnsafeBufferPointer { w in
                    for row in 0..<64 {
                        first.withUnsafeMutableBytes {
                            type.quantizeRow(xs.baseAddress! + 256 * row, columns: 256, importance: w.baseAddress!,
                                             into: $0.baseAddress! + row * type.rowBytes(columns: 256)!)
                        }
                        second.withUnsafeMutableBytes {
                            type.quantizeRow(xs.baseAddress! + 256 * row, columns: 256, importance: w.baseAddress!,
                                             into: $0.baseAddress! + row * type.rowBytes(columns: 256)!)
                        }
                    }
                }
            }
            XCTAssertEqual(first, second, "\(type)")
        }
    }

    /// One-thread throughput in weights per CPU-second (this thread's CPU time, so other load on the machine
    /// matters little) of the reference and of ours, printed, not asserted; the same rows' total error must favour
    /// ours. A uniform importance makes the legacy formats run their refit, whose objective is then plain error.
    func testThroughput() {
        let rows = 4096, columns = 1024
        let x = Self.rows(rows, columns, heavyTailed: false, seed: 5), uniform = [Float](repeating: 1, count: columns)
        for type: GGMLType in [.q4_0, .q8_0, .iq4_nl, .q4_1, .q5_0, .q5_1, .iq4_xs] {
            let rowBytes = type.rowBytes(columns: columns)!
            var reference = [UInt8](repeating: 0, count: rows * rowBytes), ours = reference
            func run(_ useReference: Bool, into out: inout [UInt8]) -> Double {
                let start = Self.threadCPUSeconds()
                x.withUnsafeBufferPointer { xs in
                    out.withUnsafeMutableBytes { o in
                        for row in 0..<rows {
                            type.quantizeRow(xs.baseAddress! + row * columns, columns: columns, importance: uniform, reference: useReference,
                                             into: o.baseAddress! + row * rowBytes)
                        }
                    }
                }
                return Double(rows * columns) / (Self.threadCPUSeconds() - start) / 1e6
            }
            let referenceRate = run(true, into: &reference), oursRate = run(false, into: &ours)
            let referenceError = error(type, x, reference), oursError = error(type, x, ours)
            XCTAssertLessThan(oursError, referenceError, "\(type)")
            print(String(format: "%@ quantize, one thread: reference %.1f M weights/s, ours %.1f M weights/s (%.1fx slower), error ratio %.4f",
                         type.rawValue, referenceRate, oursRate, referenceRate / oursRate, oursError / referenceError))
        }
    }

    // MARK: Helpers

    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Totals of the weighted squared error of ours and of the reference over `x` (rows of `columns`), checking
    /// ours per block and the reference's worst error per block against its format's step.
    private func compare(_ type: GGMLType, _ x: [Float], columns: Int, importance: [Float]?) -> (ours: Double, reference: Double) {
        let n = type.blockElements, blocks = x.count / n
        var oursTotal = 0.0, referenceTotal = 0.0, worseBlocks = 0, boundFailures = 0
        var ours = [UInt8](repeating: 0, count: type.blockBytes), reference = ours
        var yOurs = [Float](repeating: 0, count: n), yReference = yOurs
        x.withUnsafeBufferPointer { xs in
            for b in 0..<blocks {
                let xb = xs.baseAddress! + b * n
                let column = (b * n) % columns
                let w: [Float]? = importance.map { Array($0[column..<(column + n)]) }
                w.withOptionalPointer { wp in
                    ours.withUnsafeMutableBytes { type.codec.quantize(xb, importance: wp, into: $0.baseAddress!) }
                    reference.withUnsafeMutableBytes { type.codec.quantizeReference(xb, importance: wp, into: $0.baseAddress!) }
                }
                ours.withUnsafeBytes { type.codec.dequantize($0.baseAddress!, into: &yOurs) }
                reference.withUnsafeBytes { type.codec.dequantize($0.baseAddress!, into: &yReference) }
                let e = Self.weightedError(xb, yOurs, w), r = Self.weightedError(xb, yReference, w)
                if e > r { worseBlocks += 1 }
                oursTotal += e
                referenceTotal += r
                if importance == nil, !Self.withinStep(type, xb, yReference) { boundFailures += 1 }
            }
        }
        XCTAssertEqual(worseBlocks, 0, "\(type): blocks where ours is worse than the reference")
        XCTAssertEqual(boundFailures, 0, "\(type): reference blocks off by more than the format's step")
        return (oursTotal, referenceTotal)
    }

    /// Total squared error of quantized rows.
    private func error(_ type: GGMLType, _ x: [Float], _ bytes: [UInt8]) -> Double {
        var y = [Float](repeating: 0, count: x.count)
        bytes.withUnsafeBytes { b in y.withUnsafeMutableBufferPointer { type.dequantizeRow(b.baseAddress!, columns: x.count, into: $0.baseAddress!) } }
        return x.withUnsafeBufferPointer { Self.weightedError($0.baseAddress!, y, nil) }
    }

    /// The measure `quantize` minimises: Σ importance·(x - y)² (plain without importance), in Double, index order.
    static func weightedError(_ x: UnsafePointer<Float>, _ y: [Float], _ importance: [Float]?) -> Double {
        var sum = 0.0
        for i in y.indices {
            let e = Double(x[i]) - Double(y[i])
            sum += (importance.map { Double($0[i]) } ?? 1) * e * e
        }
        return sum
    }

    /// Every weight of a reference block within its format's step: half a step where rounding is to nearest, one
    /// step where the reference clamps its largest weight's mirror (the -8/-16 formats) or truncates, plus f16
    /// scale rounding; the IQ4 formats within the largest gap of their level table.
    static func withinStep(_ type: GGMLType, _ x: UnsafePointer<Float>, _ y: [Float]) -> Bool {
        var bound: Float
        switch type {
        case .q8_0, .q4_0, .q5_0, .iq4_nl:
            var amax: Float = 0
            for i in y.indices { amax = max(amax, abs(x[i])) }
            // Steps of the largest weight, and the worst error in steps (f16 scale rounding included).
            let (steps, worst): (Float, Float) = [.q8_0: (127, 0.57), .q4_0: (8, 1.01), .q5_0: (16, 1.01), .iq4_nl: (1, 0.2)][type]!
            bound = amax / steps * worst
        case .q4_1, .q5_1:
            var lo = x[0], hi = x[0]
            for i in y.indices { lo = min(lo, x[i]); hi = max(hi, x[i]) }
            bound = (hi - lo) / (type == .q4_1 ? 15 : 31) * 0.53 + abs(lo) * 0x1p-11
        default:
            // IQ4_XS: the sub-block scale is coarse, so bound by the super-block's largest weight.
            var amax: Float = 0
            for i in y.indices { amax = max(amax, abs(x[i])) }
            bound = amax * 0.2
        }
        return y.indices.allSatisfy { abs(x[$0] - y[$0]) <= bound + 1e-30 }
    }

    /// Rows of gaussian or Student-t (3 degrees of freedom) weights, each row at its own scale.
    static func rows(_ rows: Int, _ columns: Int, heavyTailed: Bool, seed: UInt64) -> [Float] {
        let z = NumericsTestData.gaussian(count: rows * columns * (heavyTailed ? 4 : 1) + rows, seed: seed)
        var x = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let scale = Float(exp(Double(z[z.count - 1 - r])))
            for c in 0..<columns {
                let i = r * columns + c
                if heavyTailed {
                    let k = 4 * i, chi2 = z[k + 1] * z[k + 1] + z[k + 2] * z[k + 2] + z[k + 3] * z[k + 3]
                    x[i] = scale * z[k] / (chi2 / 3).squareRoot()
                } else {
                    x[i] = scale * z[i]
                }
            }
        }
        return x
    }

    /// Positive per-column importance spread over two orders of magnitude, as imatrix values are.
    static func importance(_ columns: Int, seed: UInt64) -> [Float] {
        NumericsTestData.gaussian(count: columns, seed: seed).map { Float(exp(1.2 * Double($0))) }
    }

    private func fixture(_ type: GGMLType, _ suffix: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/ggml/\(type.rawValue).\(suffix)"))
    }

    private func fixtureFloats(_ type: GGMLType, _ suffix: String) throws -> [Float] {
        let data = try fixture(type, suffix)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

private extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress!) }
        case .none: body(nil)
        }
    }
}
