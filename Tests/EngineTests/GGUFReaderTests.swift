import XCTest
import Engine

/// GGUFFile on the real SmolLM2-135M file, against what llama.cpp's gguf package reads from it.
final class GGUFReaderTests: XCTestCase {
    func testHeaderMatchesTheGGUFPackage() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        let expected = try GGUFTestData.json("smollm2_header.json") as! [String: Any]
        XCTAssertEqual(Int(f.version), expected["version"] as? Int)
        XCTAssertEqual(f.tensors.count, expected["tensor_count"] as? Int)
        XCTAssertEqual(f.metadata.count, expected["kv_count"] as? Int)
        XCTAssertEqual(f.metadata.map(\.key), expected["keys"] as? [String])
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.dataStart, expected["data_offset"] as? Int)
        for t in expected["tensors"] as! [[String: Any]] {
            let info = try XCTUnwrap(f.tensor(named: t["name"] as! String))
            XCTAssertEqual(info.type.rawValue, t["type"] as? String)
            XCTAssertEqual(info.dimensions, t["ne"] as? [Int])
            XCTAssertEqual(info.offset, t["offset"] as? Int)
        }
    }

    func testMetadataValues() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        XCTAssertEqual(f["general.architecture"], .string("llama"))
        XCTAssertEqual(f["llama.block_count"], .uint32(30))
        XCTAssertEqual(f["llama.embedding_length"], .uint32(576))
        XCTAssertEqual(f["llama.attention.head_count"], .uint32(9))
        XCTAssertEqual(f["llama.attention.head_count_kv"], .uint32(3))
        XCTAssertEqual(f["llama.rope.freq_base"], .float32(100000))
        XCTAssertEqual(f["llama.attention.layer_norm_rms_epsilon"], .float32(1e-5))
        XCTAssertEqual(f["general.languages"], .strings(["en"]))
        XCTAssertEqual(f["tokenizer.ggml.tokens"]?.arrayValue?.count, 49152)
        XCTAssertEqual(f["tokenizer.ggml.merges"]?.arrayValue?.count, 48900)
        XCTAssertEqual(f["tokenizer.ggml.add_bos_token"], .bool(false))
        XCTAssertEqual(f["tokenizer.ggml.bos_token_id"], .uint32(1))
        XCTAssertNil(f.tensor(named: "output.weight"))
        XCTAssertEqual(f.tensors.filter { $0.type == .q4_1 }.count, 210)
        XCTAssertEqual(f.tensors.filter { $0.type == .f32 }.count, 61)
    }

    func testF32NormRowsEqualTheGGUFPackage() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        for fx in try GGUFTestData.rowFixtures() where fx.gguf.hasSuffix("norm.weight") {
            let t = try XCTUnwrap(f.tensor(named: fx.gguf))
            XCTAssertEqual(t.type, .f32)
            XCTAssertEqual(try f.readRows(t, start: fx.start, count: fx.count), fx.values, fx.gguf)
        }
    }

    func testQuantizedRowsEqualTheGGUFPackage() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        // Rows not touched by the Q/K permutation read the same in either order.
        for fx in try GGUFTestData.rowFixtures() where fx.gguf.hasSuffix("ffn_down.weight") || fx.gguf == "token_embd.weight" {
            let t = try XCTUnwrap(f.tensor(named: fx.gguf))
            XCTAssertEqual(try f.readRows(t, start: fx.start, count: fx.count), fx.values, fx.gguf)
        }
    }

    func testRowRangesOutsideTheTensorAreRefused() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        let t = try XCTUnwrap(f.tensor(named: "output_norm.weight"))
        XCTAssertThrowsError(try f.readRows(t, start: 1, count: 1)) { e in
            XCTAssertTrue("\(e)".contains("output_norm.weight") && "\(e)".contains(GGUFTestData.smolLM2), "\(e)")
        }
        XCTAssertThrowsError(try f.readRows(t, start: -1, count: 1))
    }
}
