import XCTest
@testable import Engine
import Kernels

/// A Q4_0 or Q8_0 tile quantized a few rows at a time must give the container bytes and the error sums of the
/// whole-tile path, bit for bit, whatever the row width against 4096-weight runs and the piece size, with or
/// without an importance matrix, with llama.cpp's codes or ours, and starting mid-tensor.
final class StreamedGGMLTileTests: XCTestCase {
    /// Rows held in memory, as a checkpoint would give them.
    struct MemoryRows: TensorRowSource {
        let values: [Float], columns: Int
        func readRows(_ t: CheckpointTensor, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
            _ = out.update(fromContentsOf: values[(start * columns)..<((start + count) * columns)])
        }
        func forEachRawChunk(_ t: CheckpointTensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {}
    }

    func testPiecesGiveTheWholeTilesBytesAndSums() throws {
        guard AVX2Kernels.available else { throw XCTSkip("the fused error loops are AVX2's") }
        var g = SplitMix64(seed: 11)
        var checked = 0
        for (cols, rows) in [(576, 150), (4192, 300), (14336, 9), (32, 5000)] {
            let total = rows + 5
            // Rows of scales 1e-4 to 1e4 (f16 scales hold them): the double sums round, so pieces added in another order would show.
            let values = (0..<(total * cols)).map { i in
                Float(Double(g.next() >> 11) / Double(1 << 53) * 2 - 1) * (g.next() % 7 == 0 ? 9 : 1) * powf(10, Float((i / cols) % 9 - 4))
            }
            let source = MemoryRows(values: values, columns: cols)
            let t = CheckpointTensor(shard: "m.safetensors", entry: TensorEntry(name: "w", dtype: .f32, shape: [total, cols], begin: 0, end: total * cols * 4))
            let analysis = AnalysisResult(rotation: .identity(size: cols), invariants: nil, seedTrials: [], unrotatedError: 0, highColumns: [],
                                          elementThreshold: nil, clusters: [], promotedColumns: 0, plannedHighFraction: 0, realisedHighFraction: 0)
            let importance = (0..<cols).map { Float(1 + $0 % 5) }
            for type in [GGMLType.q4_0, .q8_0] {
                for codes in [GGMLCodeChoice.reference, .search] {
                    for weights in [nil, importance] {
                        let spec = QuantizeSpec(tensor: t, policy: .ggml(type, codes: codes), granularity: .channel, analysis: analysis,
                                                rowStart: 5, rowCount: rows, columnImportance: weights)
                        let layout = QuantizedTensorLayout(spec: spec)
                        let streamed = try XCTUnwrap(try StreamedGGMLTile.run(spec, layout: layout, source: source))
                        XCTAssertLessThan(StreamedGGMLTile.pieceRows(columns: cols), rows, "\(cols) columns: the tile must take several pieces")

                        // QuantizeStep's whole-tile path, by hand.
                        let x = try source.readRows(t, start: 5, count: rows)
                        let arrays = x.withUnsafeBufferPointer {
                            TileCodec.encode($0, rows: rows, layout: layout, elementThreshold: nil, clusters: [], columnImportance: weights)
                        }
                        let sums = try x.withUnsafeBufferPointer { (p) throws(PackageError) in
                            try TileCodec.errorSums(p, Dictionary(uniqueKeysWithValues: arrays.map { ($0.name, $0) }), rows: rows, layout: layout,
                                                    file: "memory", tensor: "w")
                        }
                        let what = "\(type) \(codes) \(cols)x\(rows) importance \(weights != nil)"
                        XCTAssertEqual(streamed.tile.withUnsafeBytes { Array($0) }, SafetensorsWriter.encode(arrays), what)
                        XCTAssertEqual(streamed.result.sourceSumSquares.bitPattern, sums.source.bitPattern, what)
                        XCTAssertEqual(streamed.result.errorSumSquares.bitPattern, sums.error.bitPattern, what)
                        XCTAssertEqual(streamed.result.maxAbsError, sums.maxAbs, what)
                        XCTAssertEqual(streamed.result.elements, rows * cols)
                        XCTAssertGreaterThan(sums.error, 0, what)
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 32)
    }

    func testPiecesAreWholeErrorRuns() {
        for cols in [32, 576, 4096, 4192, 14336, 1 << 16, 3 << 17] {
            let rows = StreamedGGMLTile.pieceRows(columns: cols)
            XCTAssertEqual(rows * cols % ErrorSums.run, 0, "\(cols) columns")
            XCTAssertGreaterThanOrEqual(rows, 1)
        }
    }
}
