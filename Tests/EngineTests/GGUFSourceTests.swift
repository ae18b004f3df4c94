import XCTest
import Engine

/// SmolLM2-135M's GGUF as a compression source, against rows llama.cpp's gguf package dequantized and un-permuted.
final class GGUFSourceTests: XCTestCase {
    func source() throws -> GGUFSource {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        return try GGUFSource(path: GGUFTestData.smolLM2)
    }

    func testConfigAndTensorsUnderHFNames() throws {
        let s = try source()
        XCTAssertEqual(s.modelType, "llama")
        XCTAssertEqual(s.architectures, ["LlamaForCausalLM"])
        let c = s.config
        XCTAssertEqual(c["hidden_size"]?.doubleValue, 576)
        XCTAssertEqual(c["intermediate_size"]?.doubleValue, 1536)
        XCTAssertEqual(c["num_hidden_layers"]?.doubleValue, 30)
        XCTAssertEqual(c["num_attention_heads"]?.doubleValue, 9)
        XCTAssertEqual(c["num_key_value_heads"]?.doubleValue, 3)
        XCTAssertEqual(c["head_dim"]?.doubleValue, 64)
        XCTAssertEqual(c["rms_norm_eps"]?.doubleValue, 1e-5)
        XCTAssertEqual(c["rope_theta"]?.doubleValue, 100000)
        XCTAssertEqual(c["vocab_size"]?.doubleValue, 49152)
        XCTAssertEqual(c["max_position_embeddings"]?.doubleValue, 8192)
        XCTAssertEqual(c["tie_word_embeddings"], .bool(true))

        XCTAssertEqual(s.tensors.count, 272)
        let byName = Dictionary(uniqueKeysWithValues: s.tensors.map { ($0.name, $0.entry) })
        XCTAssertNil(byName["lm_head.weight"])
        XCTAssertEqual(byName["model.embed_tokens.weight"]?.shape, [49152, 576])
        XCTAssertEqual(byName["model.layers.0.self_attn.k_proj.weight"]?.shape, [192, 576])
        XCTAssertEqual(byName["model.layers.0.mlp.down_proj.weight"]?.shape, [576, 1536])
        XCTAssertEqual(byName["model.norm.weight"]?.shape, [576])
        XCTAssertTrue(s.tensors.allSatisfy { $0.entry.dtype == .f32 && $0.entry.end - $0.entry.begin == $0.entry.elementCount * 4 })
        XCTAssertEqual(s.tokenizer.pre, "smollm")
        XCTAssertEqual(s.fingerprint(), try GGUFSource(path: GGUFTestData.smolLM2).fingerprint())
        XCTAssertEqual(s.fingerprint().count, 64)
    }

    func testNormRowsAndRawChunksEqualTheGGUFPackage() throws {
        let s = try source()
        for fx in try GGUFTestData.rowFixtures() where fx.gguf.hasSuffix("norm.weight") {
            let t = try XCTUnwrap(s.tensors.first { $0.name == fx.hf })
            XCTAssertEqual(try s.readRows(t, start: fx.start, count: fx.count), fx.values, fx.hf)
            var bytes: [UInt8] = []
            try s.forEachRawChunk(t) { bytes += $0 }
            XCTAssertEqual(bytes, GGUFWriterTests.f32Bytes(fx.values))
        }
    }

    func testQuantizedRowsInHFOrderEqualTheGGUFPackage() throws {
        let s = try source()
        for fx in try GGUFTestData.rowFixtures() where !fx.gguf.hasSuffix("norm.weight") {
            let t = try XCTUnwrap(s.tensors.first { $0.name == fx.hf })
            XCTAssertEqual(t.entry.columns, fx.columns)
            XCTAssertEqual(try s.readRows(t, start: fx.start, count: fx.count), fx.values, fx.hf)
        }
        // Raw f32 chunks are the rows in HF order too.
        let k = try XCTUnwrap(s.tensors.first { $0.name == "model.layers.3.self_attn.k_proj.weight" })
        var bytes: [UInt8] = []
        try s.forEachRawChunk(k) { bytes += $0 }
        XCTAssertEqual(bytes, GGUFWriterTests.f32Bytes(try s.readRows(k, start: 0, count: k.entry.rows)))
    }

    func testRowsOutsideATensorAreRefused() throws {
        let s = try source()
        let t = try XCTUnwrap(s.tensors.first { $0.name == "model.norm.weight" })
        XCTAssertThrowsError(try s.readRows(t, start: 0, count: 2)) { e in XCTAssertTrue("\(e)".contains("model.norm.weight"), "\(e)") }
    }

    func testNonLlamaGGUFIsRefusedNamingTheFile() throws {
        let path = NSTemporaryDirectory() + "uqcit-gguf-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try GGUFWriter(path: path, metadata: [("general.architecture", .string("bert"))], tensors: [])
        try w.finish()
        XCTAssertThrowsError(try GGUFSource(path: path)) { e in XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("bert"), "\(e)") }
    }
}
