/// Hugging Face tensor names of the Llama family and llama.cpp's names for them (gguf-py's tensor_mapping for
/// llama, mistral and qwen2), with the Q/K row order convert_hf_to_gguf.py changes for llama.
public struct GGUFLlamaNames: Sendable {
    public let hyperParameters: LlamaHyperParameters

    public init(_ hyperParameters: LlamaHyperParameters) { self.hyperParameters = hyperParameters }

    public static let ropeFrequenciesName = "rope_freqs.weight"

    private static let whole: [(hf: String, gguf: String)] = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ]

    private static let perLayer: [(hf: String, gguf: String)] = [
        ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"), ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
        ("input_layernorm", "attn_norm"), ("post_attention_layernorm", "ffn_norm"),
    ]

    /// llama.cpp's name for an HF tensor, or nil when it has none.
    public func ggufName(hf name: String) -> String? {
        if let w = Self.whole.first(where: { $0.hf == name }) { return w.gguf }
        guard let (layer, part, suffix) = split(name, prefix: "model.layers."),
              let m = Self.perLayer.first(where: { $0.hf == part }) else { return nil }
        return "blk.\(layer).\(m.gguf).\(suffix)"
    }

    /// The HF name of a llama.cpp tensor, or nil when it has none.
    public func hfName(gguf name: String) -> String? {
        if let w = Self.whole.first(where: { $0.gguf == name }) { return w.hf }
        guard let (layer, part, suffix) = split(name, prefix: "blk."),
              let m = Self.perLayer.first(where: { $0.gguf == part }) else { return nil }
        return "model.layers.\(layer).\(m.hf).\(suffix)"
    }

    /// How many heads this tensor's (HF name) rows are permuted over between the HF and GGUF orders, or nil when
    /// rows keep their order: llama's q_proj and k_proj weights and biases, over the query and key-value heads.
    /// Build the map with `GGUFRowPermutation(heads:rows:)`, which refuses rows that do not split into heads.
    public func permutedHeads(hf name: String) -> Int? {
        guard hyperParameters.ggufArchitecture == "llama" else { return nil }
        if name.hasSuffix(".self_attn.q_proj.weight") || name.hasSuffix(".self_attn.q_proj.bias") { return hyperParameters.heads }
        if name.hasSuffix(".self_attn.k_proj.weight") || name.hasSuffix(".self_attn.k_proj.bias") { return hyperParameters.kvHeads }
        return nil
    }

    /// "<prefix>N.<part>.<weight|bias>" with N a layer of this model, split into its pieces.
    private func split(_ name: String, prefix: String) -> (layer: Int, part: String, suffix: String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), String(layer) == rest[..<dot],
              layer < hyperParameters.layers else { return nil }
        let tail = rest[rest.index(after: dot)...]
        guard let last = tail.lastIndex(of: ".") else { return nil }
        let suffix = String(tail[tail.index(after: last)...])
        guard suffix == "weight" || suffix == "bias" else { return nil }
        return (layer, String(tail[..<last]), suffix)
    }
}
