import XCTest
import Foundation
@testable import Engine
@testable import Runtime

/// Features tiny-llama does not have (qwen2 q/k/v biases, tied embeddings, llama3 rope_scaling) against
/// scripts/llama_synthetic_reference.py, whose weights follow a formula rebuilt here; the expected log-probs are
/// Fixtures/qwen2_synthetic_reference.json (`python3 scripts/llama_synthetic_reference.py > ...`).
final class SyntheticLlamaTests: XCTestCase {
    struct Fixture: Decodable { var tokens: [Int]; var logprobs: [[Float]] }

    /// The script's tensor list, in the same order (the order defines each tensor's phase).
    static func tensors(_ c: LlamaConfig) -> [(String, [Int], Character)] {
        let d = c.hiddenSize, f = c.intermediateSize, q = c.heads * c.headDim, kv = c.kvHeads * c.headDim
        var out: [(String, [Int], Character)] = [("model.embed_tokens.weight", [c.vocabSize, d], "w")]
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            out += [(p + "input_layernorm.weight", [d], "n"),
                    (p + "self_attn.q_proj.weight", [q, d], "w"), (p + "self_attn.q_proj.bias", [q], "b"),
                    (p + "self_attn.k_proj.weight", [kv, d], "w"), (p + "self_attn.k_proj.bias", [kv], "b"),
                    (p + "self_attn.v_proj.weight", [kv, d], "w"), (p + "self_attn.v_proj.bias", [kv], "b"),
                    (p + "self_attn.o_proj.weight", [d, q], "w"),
                    (p + "post_attention_layernorm.weight", [d], "n"),
                    (p + "mlp.gate_proj.weight", [f, d], "w"), (p + "mlp.up_proj.weight", [f, d], "w"),
                    (p + "mlp.down_proj.weight", [d, f], "w")]
        }
        out.append(("model.norm.weight", [d], "n"))
        return out
    }

    func testQwen2BiasesTiedHeadAndLlama3RopeMatchNumpy() throws {
        let fixtureData = try Data(contentsOf: URL(fileURLWithPath: RuntimeTestPaths.fixtures + "/qwen2_synthetic_reference.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: fixtureData)
        let object = try JSONSerialization.jsonObject(with: fixtureData) as! [String: Any]
        let configData = try JSONSerialization.data(withJSONObject: object["config"]!)
        let config = try LlamaConfig(JSONValue.parse(Array(configData)))

        let dir = RuntimeTestPaths.temporaryFolder("qwen2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try configData.write(to: URL(fileURLWithPath: dir + "/config.json"))
        var arrays: [NamedArray] = []
        for (k, (name, shape, kind)) in Self.tensors(config).enumerated() {
            var bytes: [UInt8] = []
            for i in 0..<shape.reduce(1, *) {
                let s = sin(0.7 * Double(i) + 1.1 * Double(k) + 0.3)
                let v = Float(kind == "n" ? 1 + 0.1 * s : (kind == "w" ? 0.2 : 0.1) * s)
                withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
            }
            arrays.append(NamedArray(name: name, dtype: .f32, shape: shape, bytes: bytes))
        }
        try Data(SafetensorsWriter.encode(arrays)).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))

        let model = try LlamaModel(weights: CheckpointWeights(folder: dir))
        XCTAssertEqual(model.config.headDim, 8)
        XCTAssertEqual(model.config.kvHeads, 2)
        let lp = try model.logProbs([fixture.tokens])[0]
        var worst: Float = 0
        for (t, row) in fixture.logprobs.enumerated() {
            for (j, v) in row.enumerated() { worst = max(worst, abs(lp.data[t * row.count + j] - v)) }
        }
        XCTAssertLessThan(worst, 2e-5, "max |log p(swift) - log p(numpy)|")

        // Dropping the biases or the llama3 scaling must be visible at this tolerance (the check is not vacuous).
        var plain = object["config"] as! [String: Any]
        plain["rope_scaling"] = NSNull()
        let unscaled = try LlamaConfig(JSONValue.parse(Array(try JSONSerialization.data(withJSONObject: plain))))
        XCTAssertNotEqual(unscaled.inverseFrequencies, config.inverseFrequencies)
        XCTAssertEqual(config.inverseFrequencies[0], 1, "high-frequency band unchanged")
        XCTAssertEqual(config.inverseFrequencies[3], unscaled.inverseFrequencies[3] / 4, accuracy: 1e-15, "low-frequency band divided by factor")
    }
}
