import XCTest
@testable import Engine

/// The codec: a tile's arrays survive the trip through a safetensors container bit for bit, and decode to the
/// same floats; fp16 high columns come back exactly.
final class TileCodecTests: XCTestCase {
    func layout(_ granularity: Granularity, high: QuantFormat, low: QuantFormat, fraction: Double, rows: Int, cols: Int, highColumns: [Int]) -> QuantizedTensorLayout {
        let t = CheckpointTensor(shard: "m.safetensors", entry: TensorEntry(name: "w", dtype: .bf16, shape: [rows, cols], begin: 0, end: rows * cols * 2))
        let policy = LevelPolicy(pattern: "x", high: high, low: low, highFraction: fraction, compensationRank: 0)
        let analysis = AnalysisResult(rotation: .identity(size: cols), invariants: nil, seedTrials: [], unrotatedError: 0, highColumns: highColumns,
                                      elementThreshold: 0.9, clusters: [[1, 2]], promotedColumns: 0, plannedHighFraction: fraction, realisedHighFraction: fraction)
        return QuantizedTensorLayout(spec: QuantizeSpec(tensor: t, policy: policy, granularity: granularity, analysis: analysis, rowStart: 0, rowCount: rows))
    }

    func data(_ n: Int) -> [Float] {
        var g = SplitMix64(seed: 3)
        // bf16-representable values, so fp16 (bf16) passthrough must be exact.
        return (0..<n).map { _ in HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16(Float(Double(g.next() >> 11) / Double(1 << 53) * 2 - 1))) }
    }

    func roundTrip(_ l: QuantizedTensorLayout, rows: Int) throws -> (direct: [Float], viaFile: [Float], arrays: [NamedArray]) {
        let x = data(rows * l.columns)
        let arrays = x.withUnsafeBufferPointer { TileCodec.encode($0, rows: rows, layout: l, elementThreshold: 0.9, clusters: [[1, 2]]) }
        var direct = [Float](repeating: 0, count: x.count)
        try direct.withUnsafeMutableBufferPointer { (p) throws(PackageError) in
            try TileCodec.decode(Dictionary(uniqueKeysWithValues: arrays.map { ($0.name, $0) }), rows: rows, layout: l, into: p, file: "memory", tensor: l.name)
        }
        let bytes = SafetensorsWriter.encode(arrays)
        let path = NSTemporaryDirectory() + "tile-\(UUID().uuidString).st"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let back = try SafetensorsWriter.decode(SafetensorsFile(path: path))
        for a in arrays { XCTAssertEqual(back[a.name], a, a.name) }
        var viaFile = [Float](repeating: 0, count: x.count)
        try viaFile.withUnsafeMutableBufferPointer { (p) throws(PackageError) in try TileCodec.decode(back, rows: rows, layout: l, into: p, file: path, tensor: l.name) }
        return (direct, viaFile, arrays)
    }

    func testChannelLayoutRoundTripsAndKeepsFP16ColumnsExact() throws {
        let rows = 5, cols = 200
        let high = [0, 3, 17, 199]
        let l = layout(.channel, high: .fp16, low: .int2, fraction: 0.02, rows: rows, cols: cols, highColumns: high)
        let (direct, viaFile, arrays) = try roundTrip(l, rows: rows)
        XCTAssertEqual(direct, viaFile)
        XCTAssertEqual(Set(arrays.map(\.name)), ["hi.values", "lo.codes", "lo.scales", "lo.mins"])
        let x = data(rows * cols)
        for r in 0..<rows { for c in high { XCTAssertEqual(direct[r * cols + c], x[r * cols + c]) } }
        XCTAssertEqual(arrays.first { $0.name == "lo.codes" }!.shape, [rows, Int2Block.packedBytes(count: cols - high.count)])
    }

    func testElementLayoutRoundTripsWithClusterPromotion() throws {
        let rows = 6, cols = 64
        let l = layout(.element, high: .int8, low: .int4, fraction: 0.05, rows: rows, cols: cols, highColumns: [])
        let (direct, viaFile, arrays) = try roundTrip(l, rows: rows)
        XCTAssertEqual(direct, viaFile)
        let counts = arrays.first { $0.name == "sparse.counts" }!.int32Values
        let columns = arrays.first { $0.name == "sparse.columns" }!.int32Values
        XCTAssertEqual(counts.reduce(0, +), Int32(columns.count))
        // Columns 1 and 2 form a cluster: where one is an outlier, both are stored.
        var k = 0
        for n in counts {
            let row = Set(columns[k..<k + Int(n)])
            XCTAssertEqual(row.contains(1), row.contains(2))
            k += Int(n)
        }
        let x = data(rows * cols)
        for i in 0..<x.count where abs(x[i]) > 0.9 {
            XCTAssertEqual(direct[i], x[i], accuracy: abs(x[i]) / 127 + 1e-6, "outliers kept at int8 precision")
        }
    }

    func testArraysMissingOrOfTheWrongSizeAreRefusedNamingFileAndTensor() throws {
        let rows = 5, cols = 200
        for l in [layout(.channel, high: .fp16, low: .int2, fraction: 0.02, rows: rows, cols: cols, highColumns: [0, 3, 17, 199]),
                  layout(.element, high: .int8, low: .int4, fraction: 0.02, rows: rows, cols: cols, highColumns: [])] {
            let good = Dictionary(uniqueKeysWithValues: try roundTrip(l, rows: rows).arrays.map { ($0.name, $0) })
            var out = [Float](repeating: 0, count: rows * cols)
            func decode(_ arrays: [String: NamedArray], _ layout: QuantizedTensorLayout) -> String? {
                do {
                    try out.withUnsafeMutableBufferPointer { (p) throws(PackageError) in
                        try TileCodec.decode(arrays, rows: rows, layout: layout, into: p, file: "bad.st", tensor: "w")
                    }
                    return nil
                } catch { return "\(error)" }
            }
            XCTAssertNil(decode(good, l))
            for name in good.keys {
                var missing = good; missing[name] = nil
                XCTAssertEqual(decode(missing, l), "bad.st: tensor 'w': array \(name) is missing")
                var short = good; short[name]!.bytes.removeLast()
                XCTAssertTrue(decode(short, l)?.hasPrefix("bad.st: tensor 'w': array \(name) holds") ?? false, name)
            }
            var rotated = l; rotated.rotation = RotationDescriptor(kind: RotationDescriptor.blockHadamardKind, block: 3, seed: 0, size: cols)
            XCTAssertTrue(decode(good, rotated)?.contains("rotation block 3") ?? false)
            if l.granularity == .element {
                var far = good; far["sparse.columns"]!.bytes = [UInt8](repeating: 0xFF, count: far["sparse.columns"]!.bytes.count)
                XCTAssertTrue(decode(far, l)?.contains("sparse columns outside") ?? false)
            } else {
                var wide = l; wide.highColumns[3] = cols
                XCTAssertTrue(decode(good, wide)?.contains("strictly ascending") ?? false)
            }
        }
    }
}
