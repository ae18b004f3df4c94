import XCTest
import Engine
import TestSupport

/// ImportanceMatrix reads llama-imatrix's GGUF output (NAME.in_sum2 beside NAME.counts) into mean squares per
/// column, maps llama.cpp names to HF ones, and refuses what llama-quantize could not use.
final class ImportanceMatrixTests: XCTestCase {
    static let config = #"{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"#
        + #""num_attention_heads":2,"num_key_value_heads":1,"max_position_embeddings":64}"#

    func write(_ tensors: [(name: String, dimensions: [Int], values: [Float])]) throws -> String {
        let folder = TestPaths.temporaryFolder("imatrix")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/imatrix.gguf"
        let w = try GGUFWriter(path: path, metadata: [("general.type", .string("imatrix"))],
                               tensors: tensors.map { GGUFTensorInfo(name: $0.name, dimensions: $0.dimensions, type: .f32) })
        for t in tensors { try w.write(t.values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }) }
        _ = try w.finish()
        return path
    }

    func testMeanSquaresByHFName() throws {
        let sums: [Float] = (0..<8).map { Float($0) * 10 }
        let path = try write([("blk.0.attn_q.weight.counts", [1, 1], [5]), ("blk.0.attn_q.weight.in_sum2", [8, 1], sums),
                              ("blk.0.ffn_down.weight.counts", [1, 1], [0]), ("blk.0.ffn_down.weight.in_sum2", [16, 1], [Float](repeating: 3, count: 16))])
        let m = try ImportanceMatrix(path: path)
        XCTAssertEqual(m.columns["blk.0.attn_q.weight"], sums.map { $0 / 5 })
        XCTAssertEqual(m.sha256.count, 64)
        let names = GGUFLlamaNames(try LlamaHyperParameters(config: JSONValue.parse(Array(Self.config.utf8)), file: "config.json"))
        let byHF = try m.columnImportance(hfNames: [("model.layers.0.self_attn.q_proj.weight", 8), ("model.layers.0.mlp.down_proj.weight", 16),
                                                    ("model.layers.0.mlp.up_proj.weight", 8)], names: names)
        XCTAssertEqual(byHF["model.layers.0.self_attn.q_proj.weight"], sums.map { $0 / 5 })
        // Never reached by the calibration text: every column weighs the same, as llama-quantize takes it.
        XCTAssertEqual(byHF["model.layers.0.mlp.down_proj.weight"], [Float](repeating: 1, count: 16))
        XCTAssertNil(byHF["model.layers.0.mlp.up_proj.weight"], "not in the matrix: fitted unweighted")

        XCTAssertThrowsError(try m.columnImportance(hfNames: [("model.layers.0.self_attn.q_proj.weight", 16)], names: names)) {
            XCTAssertTrue("\($0)".contains("blk.0.attn_q.weight.in_sum2") && "\($0)".contains("8 columns"), "\($0)")
        }
    }

    func testRefusesWhatIsNotAnImportanceMatrix() throws {
        let noCounts = try write([("blk.0.attn_q.weight.in_sum2", [8, 1], [Float](repeating: 1, count: 8))])
        XCTAssertThrowsError(try ImportanceMatrix(path: noCounts)) { XCTAssertTrue("\($0)".contains("has no 'blk.0.attn_q.weight.counts'"), "\($0)") }

        let negative = try write([("a.weight.counts", [1, 1], [2]), ("a.weight.in_sum2", [4, 1], [1, -1, 1, 1])])
        XCTAssertThrowsError(try ImportanceMatrix(path: negative)) { XCTAssertTrue("\($0)".contains("column 1 holds -1.0"), "\($0)") }

        let nan = try write([("a.weight.counts", [1, 1], [.nan]), ("a.weight.in_sum2", [4, 1], [1, 1, 1, 1])])
        XCTAssertThrowsError(try ImportanceMatrix(path: nan)) { XCTAssertTrue("\($0)".contains("a.weight.counts"), "\($0)") }

        let experts = try write([("a.weight.counts", [1, 2], [2, 2]), ("a.weight.in_sum2", [4, 2], [Float](repeating: 1, count: 8))])
        XCTAssertThrowsError(try ImportanceMatrix(path: experts)) { XCTAssertTrue("\($0)".contains("2 matrices"), "\($0)") }

        let model = try write([("token_embd.weight", [4, 2], [Float](repeating: 1, count: 8))])
        XCTAssertThrowsError(try ImportanceMatrix(path: model)) { XCTAssertTrue("\($0)".contains("not an importance matrix"), "\($0)") }
    }
}
