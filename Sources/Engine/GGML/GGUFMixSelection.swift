/// One pass of llama-quantize's per-tensor type choice over a model (see `GGUFMix` for the llama.cpp version read).
/// Stateful because llama.cpp's is: the attn_v and ffn_down rules count how many such tensors came before, so
/// tensors must be fed in `visitOrder`.
public struct GGUFMixSelection {
    /// llama.cpp's broad tensor roles (`tensor_category`), found by name.
    enum Category {
        case output, tokenEmbedding, attentionQKV, attentionKVB, attentionV, attentionK, attentionQ, attentionOutput
        case ffnUp, ffnGate, ffnDown, other

        init(name: String) {
            if name == "output.weight" { self = .output; return }
            if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { self = .tokenEmbedding; return }
            // Substring tests in llama.cpp's order: "ffn_down" also covers ffn_down_exps and ffn_down_shexp.
            let byFragment: [(String, Category)] = [
                ("attn_qkv.weight", .attentionQKV), ("attn_kv_b.weight", .attentionKVB), ("attn_v.weight", .attentionV),
                ("attn_k.weight", .attentionK), ("attn_q.weight", .attentionQ), ("attn_output.weight", .attentionOutput),
                ("ffn_up", .ffnUp), ("ffn_gate", .ffnGate), ("ffn_down", .ffnDown),
            ]
            self = byFragment.first { name.contains($0.0) }?.1 ?? .other
        }

        /// Value-projection-like tensors, which llama.cpp treats as the most quantization-sensitive.
        var isAttentionVLike: Bool { self == .attentionV || self == .attentionQKV || self == .attentionKVB }
    }

    let mix: GGUFMix
    let isFalcon: Bool
    /// llama.cpp's LLM_TYPE_70B: a Llama with 80 layers and grouped KV heads (8 query heads share each attn_v).
    let isLlama70B: Bool
    /// n_head / n_head_kv of layer 0, integer division, 0 without KV heads (`hparams.n_gqa()`).
    let gqa: Int
    let expertCount: Int
    let layerCount: Int
    let tiedEmbeddings: Bool
    let attentionVCount: Int
    let hasImportanceMatrix: Bool
    private var attentionVSeen = 0
    private var ffnDownSeen = 0

    init(mix: GGUFMix, model: GGUFMixModel) {
        self.mix = mix
        isFalcon = model.architecture == "falcon"
        isLlama70B = model.architecture == "llama" && model.layerCount == 80 && model.headCount != model.kvHeadCount
        gqa = model.kvHeadCount == 0 ? 0 : model.headCount / model.kvHeadCount
        expertCount = model.expertCount
        layerCount = model.layerCount
        tiedEmbeddings = !model.tensors.contains { Category(name: $0.name) == .output }
        attentionVCount = model.tensors.filter { Category(name: $0.name).isAttentionVLike }.count
        hasImportanceMatrix = model.hasImportanceMatrix
    }

    /// Indices of `tensors` in the order llama.cpp's model loader holds them: by layer number ("blk.N."; other
    /// tensors count as layer -1, so they come first), then by name bytes.
    static func visitOrder(_ tensors: [GGUFMixModel.Tensor]) -> [Int] {
        let keys = tensors.map { (layer: layerNumber($0.name) ?? -1, name: Array($0.name.utf8)) }
        return tensors.indices.sorted { a, b in
            keys[a].layer != keys[b].layer ? keys[a].layer < keys[b].layer
                : keys[a].name.lexicographicallyPrecedes(keys[b].name)
        }
    }

    /// The N of a "blk.N." name, read as C's sscanf("blk.%d.") reads it.
    static func layerNumber(_ name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        let rest = name.dropFirst(4)
        let sign = rest.first == "-" || rest.first == "+" ? 1 : 0
        let digits = rest.dropFirst(sign).prefix { $0.isASCII && $0.isNumber }
        guard let value = Int(digits) else { return nil }
        return rest.first == "-" ? -value : value
    }

    /// `tensor_allows_quantization` for the tensors llama-family and BERT-family GGUFs hold: only 2-D and 3-D
    /// weights, never norms, expert routers, positional or token-type embeddings, or the small special tensors.
    static func allowsQuantization(_ tensor: GGUFMixModel.Tensor) -> Bool {
        // ggml_n_dims: trailing extents of 1 do not count as dimensions.
        let dims = (tensor.shape.lastIndex { $0 > 1 } ?? 0) + 1
        let name = tensor.name
        guard dims >= 2, name.hasSuffix("weight") else { return false }
        if name == "position_embd.weight" || name == "token_types.weight" { return false }
        let keptFragments = [
            "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
            "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
            "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
            "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight",
            "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
            "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd",
            "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
            "mm.a.code_embd",
        ]
        return !keptFragments.contains { name.contains($0) }
    }

    /// `llama_tensor_get_type` for a tensor that `allowsQuantization`.
    mutating func type(for tensor: GGUFMixModel.Tensor) throws -> GGMLType {
        let chosen = try mixRule(for: tensor, category: Category(name: tensor.name))
        return Self.fallback(chosen, rowLength: tensor.shape[0])
    }

    /// `llama_tensor_get_type_impl`, restricted to the branches `GGUFMix`'s mixes reach.
    private mutating func mixRule(for tensor: GGUFMixModel.Tensor, category: Category) throws -> GGMLType {
        let base = mix.defaultType
        if category == .output || (tiedEmbeddings && category == .tokenEmbedding) {
            // The output projection (or the embedding that doubles as it) gets 6 bits unless the mix is 8-bit.
            if isFalcon || tensor.shape[0] % base.blockElements != 0 { return .q8_0 }
            return base == .q8_0 ? .q8_0 : .q6_K
        }
        switch category {
        case .attentionV, .attentionQKV, .attentionKVB:
            // The attn_qkv-specific rules in llama.cpp sit after this branch and are never reached.
            defer { attentionVSeen += 1 }
            return attentionVRule(base)
        case .attentionK:
            return expertCount == 8 ? .q8_0 : base
        case .attentionOutput:
            return attentionOutputRule(base)
        case .ffnDown:
            defer { ffnDownSeen += 1 }
            return ffnDownRule(base, layer: try ffnDownLayer(tensor.name))
        case .output, .tokenEmbedding, .attentionQ, .ffnUp, .ffnGate, .other:
            return base
        }
    }

    private func attentionVRule(_ base: GGMLType) -> GGMLType {
        let i = attentionVSeen
        var type = base
        switch mix {
        case .q2_K: type = gqa >= 4 ? .q4_K : .q3_K
        case .q3_K_M: type = i < 2 ? .q5_K : .q4_K
        case .q3_K_L: type = .q5_K
        case .iq4_nl, .iq4_xs: if gqa >= 4 { type = .q5_K }
        case .q4_K_M, .q5_K_M: if Self.usesMoreBits(i, of: attentionVCount) { type = .q6_K }
        case .q4_K_S: if i < 4 { type = .q5_K }
        default: break
        }
        if isLlama70B && (type == .q3_K || type == .q4_K) { type = .q5_K }
        if expertCount == 8 { type = .q8_0 }
        return type
    }

    private func attentionOutputRule(_ base: GGMLType) -> GGMLType {
        if isFalcon { return mix == .q3_K_L ? .q4_K : base }
        if expertCount == 8 {
            let bumped: Set<GGUFMix> = [.q2_K, .q3_K_S, .q3_K_M, .iq4_nl, .q4_K_S, .q4_K_M, .iq4_xs]
            return bumped.contains(mix) ? .q5_K : base
        }
        switch mix {
        case .q2_K: return .q3_K
        case .q3_K_M: return .q4_K
        case .q3_K_L: return .q5_K
        default: return base
        }
    }

    /// The (layer, layer count) the ffn_down rules see: the running count for dense models; for MoE models the
    /// name's layer, because expert tensors are not stored layer by layer.
    private func ffnDownLayer(_ name: String) throws -> Int {
        guard expertCount > 1 else { return ffnDownSeen }
        guard let layer = Self.layerNumber(name), (0..<layerCount).contains(layer) else {
            throw GGUFMixError.layerNotFound(tensor: name, layerCount: layerCount)
        }
        return layer
    }

    private func ffnDownRule(_ base: GGMLType, layer i: Int) -> GGMLType {
        let n = layerCount
        switch mix {
        case .q2_K: return .q3_K
        case .q3_K_M:
            return i < n / 16 ? .q5_K : !isFalcon || Self.usesMoreBits(i, of: n) ? .q4_K : .q3_K
        case .q3_K_L: return isFalcon ? .q4_K : .q5_K
        case .q4_K_M:
            if isFalcon { return i < n / 16 ? .q6_K : Self.usesMoreBits(i, of: n) ? .q5_K : .q4_K }
            return Self.usesMoreBits(i, of: n) ? .q6_K : base
        case .iq4_nl, .iq4_xs: return i < n / 8 && !hasImportanceMatrix ? .q5_K : base
        case .q5_K_M: return Self.usesMoreBits(i, of: n) ? .q6_K : base
        case .q4_K_S: return !isFalcon && i < n / 8 ? .q5_K : base
        // With an importance matrix only: llama.cpp guards the first ffn_down layers of Q4_0 and Q5_0 this way.
        case .q4_0: return hasImportanceMatrix && i < n / 8 ? .q4_1 : base
        case .q5_0: return hasImportanceMatrix && i < n / 8 ? .q5_1 : base
        default: return base
        }
    }

    /// llama.cpp's `use_more_bits`: the first and last eighth of the layers, and every third one in between.
    static func usesMoreBits(_ i: Int, of n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }

    /// `tensor_type_fallback`: a row length that is not a whole number of the chosen type's blocks moves to a
    /// 32-weight-block type of similar size, and to F16 when even that does not fit.
    public static func fallback(_ type: GGMLType, rowLength: Int) -> GGMLType {
        guard rowLength % type.blockElements != 0 else { return type }
        let smallerBlock: GGMLType = switch type {
        case .iq4_xs: .iq4_nl
        case .q2_K, .q3_K: .q4_0
        case .q4_K: .q5_0
        case .q5_K: .q5_1
        case .q6_K: .q8_0
        default: type
        }
        return rowLength % smallerBlock.blockElements == 0 ? smallerBlock : .f16
    }
}
