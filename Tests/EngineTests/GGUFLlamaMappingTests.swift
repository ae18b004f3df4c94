import XCTest
import Engine
import TestSupport

final class GGUFLlamaMappingTests: XCTestCase {
    func tinyLlama() throws -> LlamaHyperParameters {
        try GGUFTestData.requireModel(TestPaths.tinyLlama)
        return try LlamaHyperParameters(config: Checkpoint(folder: TestPaths.tinyLlama).config, file: TestPaths.tinyLlama)
    }

    func testNamesRoundTripForEveryTinyLlamaTensor() throws {
        let names = GGUFLlamaNames(try tinyLlama())
        let c = try Checkpoint(folder: TestPaths.tinyLlama)
        var ggufNames = Set<String>()
        for t in c.tensors {
            let g = try XCTUnwrap(names.ggufName(hf: t.name), t.name)
            XCTAssertEqual(names.hfName(gguf: g), t.name)
            ggufNames.insert(g)
        }
        XCTAssertEqual(ggufNames.count, c.tensors.count)
        XCTAssertEqual(names.ggufName(hf: "model.embed_tokens.weight"), "token_embd.weight")
        XCTAssertEqual(names.ggufName(hf: "lm_head.weight"), "output.weight")
        XCTAssertEqual(names.ggufName(hf: "model.norm.weight"), "output_norm.weight")
        XCTAssertEqual(names.ggufName(hf: "model.layers.3.self_attn.o_proj.weight"), "blk.3.attn_output.weight")
        XCTAssertEqual(names.ggufName(hf: "model.layers.0.mlp.down_proj.weight"), "blk.0.ffn_down.weight")
        XCTAssertEqual(names.ggufName(hf: "model.layers.1.post_attention_layernorm.weight"), "blk.1.ffn_norm.weight")
        XCTAssertEqual(names.ggufName(hf: "model.layers.1.self_attn.q_proj.bias"), "blk.1.attn_q.bias")
        XCTAssertNil(names.ggufName(hf: "model.layers.4.self_attn.q_proj.weight"))     // only 4 layers
        XCTAssertNil(names.ggufName(hf: "model.layers.01.self_attn.q_proj.weight"))
        XCTAssertNil(names.hfName(gguf: "blk.0.attn_qkv.weight"))
        XCTAssertEqual(names.permutedHeads(hf: "model.layers.0.self_attn.q_proj.weight"), 8)
        XCTAssertEqual(names.permutedHeads(hf: "model.layers.0.self_attn.k_proj.weight"), 4)
        XCTAssertNil(names.permutedHeads(hf: "model.layers.0.self_attn.v_proj.weight"))
    }

    func testPermutationMatchesLlamaModelPermute() throws {
        // LlamaModel.permute: w.reshape(n_head, 2, rows / n_head / 2, cols).swapaxes(1, 2).reshape(rows, cols)
        let heads = 3, rows = 24, d = 8
        let p = try XCTUnwrap(GGUFRowPermutation(heads: heads, rows: rows))
        for r in 0..<rows {
            let head = r / d, i = (r % d) / 2, j = r % 2           // GGUF index [head, i, j] holds HF [head, j, i]
            XCTAssertEqual(p.hfRow(forGGUFRow: r), head * d + j * (d / 2) + i)
            XCTAssertEqual(p.ggufRow(forHFRow: p.hfRow(forGGUFRow: r)), r)
        }
        XCTAssertEqual(Set((0..<rows).map(p.hfRow(forGGUFRow:))).count, rows)
        XCTAssertEqual(p.enclosingHeads(start: 7, count: 2), 0..<16)
        XCTAssertEqual(p.enclosingHeads(start: 8, count: 8), 8..<16)
        XCTAssertNil(GGUFRowPermutation(heads: 3, rows: 25))
        XCTAssertNil(GGUFRowPermutation(heads: 5, rows: 15))
    }

    func testTinyLlamaMetadata() throws {
        let h = try tinyLlama()
        let kvs = Dictionary(uniqueKeysWithValues: h.ggufMetadata(name: "tiny-llama-bytes", fileType: 1).map { ($0.key, $0.value) })
        XCTAssertEqual(kvs["general.architecture"], .string("llama"))
        XCTAssertEqual(kvs["general.name"], .string("tiny-llama-bytes"))
        XCTAssertEqual(kvs["general.file_type"], .uint32(1))
        XCTAssertEqual(kvs["llama.context_length"], .uint32(512))
        XCTAssertEqual(kvs["llama.embedding_length"], .uint32(256))
        XCTAssertEqual(kvs["llama.feed_forward_length"], .uint32(768))
        XCTAssertEqual(kvs["llama.block_count"], .uint32(4))
        XCTAssertEqual(kvs["llama.attention.head_count"], .uint32(8))
        XCTAssertEqual(kvs["llama.attention.head_count_kv"], .uint32(4))
        XCTAssertEqual(kvs["llama.attention.layer_norm_rms_epsilon"], .float32(1e-5))
        XCTAssertEqual(kvs["llama.rope.freq_base"], .float32(10000))
        XCTAssertEqual(kvs["llama.rope.dimension_count"], .uint32(32))
        XCTAssertEqual(kvs["llama.vocab_size"], .uint32(256))
        XCTAssertNil(kvs["llama.attention.key_length"], "head_dim is hidden / heads")
        XCTAssertNil(h.llama3RopeFactors())
        XCTAssertFalse(h.tieWordEmbeddings)
    }

    func testSmolLM2ConfigRoundTripsThroughGGUFMetadata() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        let h = try LlamaHyperParameters(gguf: f, tied: true)
        XCTAssertEqual(h.headDim, 64)
        XCTAssertEqual(h.rmsNormEps, 1e-5)
        // The synthesized config.json read as an HF config gives the same hyper-parameters and the file's own metadata.
        let again = try LlamaHyperParameters(config: JSONValue.parse(h.configJSONBytes()), file: "config.json")
        XCTAssertEqual(again, h)
        for (k, v) in again.ggufMetadata(name: "x", fileType: 3) where k != "general.name" {
            XCTAssertEqual(f[k], v, k)
        }
    }

    func testHeadDimOtherThanHiddenOverHeadsWritesKeyLength() throws {
        var c = #"{"model_type":"qwen2","vocab_size":10,"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"#
        c += #""num_attention_heads":4,"num_key_value_heads":2,"head_dim":32,"max_position_embeddings":64}"#
        let h = try LlamaHyperParameters(config: JSONValue.parse(Array(c.utf8)), file: "c")
        let kvs = Dictionary(uniqueKeysWithValues: h.ggufMetadata(name: "q", fileType: nil).map { ($0.key, $0.value) })
        XCTAssertEqual(kvs["general.architecture"], .string("qwen2"))
        XCTAssertEqual(kvs["qwen2.attention.key_length"], .uint32(32))
        XCTAssertEqual(kvs["qwen2.attention.value_length"], .uint32(32))
        XCTAssertNil(GGUFLlamaNames(h).permutedHeads(hf: "model.layers.0.self_attn.q_proj.weight"), "qwen2 keeps HF row order")
    }

    func testLlama3RopeFactorsAsConvertHFToGGUF() throws {
        // Llama-3.2-1B's rope: theta 500000, head_dim 64, llama3 scaling factor 32, low 1, high 4, original 8192.
        var c = #"{"model_type":"llama","vocab_size":10,"hidden_size":2048,"intermediate_size":8192,"num_hidden_layers":16,"#
        c += #""num_attention_heads":32,"num_key_value_heads":8,"max_position_embeddings":131072,"rope_theta":500000.0,"#
        c += #""rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}"#
        let h = try LlamaHyperParameters(config: JSONValue.parse(Array(c.utf8)), file: "c")
        let f = try XCTUnwrap(h.llama3RopeFactors())
        XCTAssertEqual(f.count, 32)
        // Reference from the same computation in numpy float32 (torch float32 in convert_hf_to_gguf.py).
        let expected: [Float] = Array(repeating: 1, count: 15) + [1.6513292789459229, 3.2922627925872803, 9.666730880737305] + Array(repeating: 32, count: 14)
        for (a, b) in zip(f, expected) { XCTAssertEqual(a, b, accuracy: 1e-5 * b) }
    }

    func testUnsupportedConfigsAreRefusedNamingTheFile() {
        let bad = [#"{"model_type":"bert"}"#, #"{"model_type":"llama","vocab_size":10}"#]
        for c in bad {
            XCTAssertThrowsError(try LlamaHyperParameters(config: JSONValue.parse(Array(c.utf8)), file: "m/config.json")) { e in
                XCTAssertTrue("\(e)".contains("m/config.json"), "\(e)")
            }
        }
    }
}
