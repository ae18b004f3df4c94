/// The exact tensor names and shapes (and the config.json) of frontier checkpoints as published on the Hugging
/// Face hub, without their weights: the planner, scheduler and journal run at full scale from these alone.
/// Data type is BF16 throughout (DeepSeek-V3 as its BF16 conversion: no FP8 `weight_scale_inv` tensors).
public struct SyntheticArchitecture: Sendable {
    public let name: String
    public let config: String
    public let tensors: [(name: String, shape: [Int])]

    public static let names = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "deepseek-v3"]

    public static func named(_ name: String) -> SyntheticArchitecture? {
        switch name {
        case "llama-3.1-8b": return llama(name, hidden: 4096, layers: 32, heads: 32, intermediate: 14336)
        case "llama-3.1-70b": return llama(name, hidden: 8192, layers: 80, heads: 64, intermediate: 28672)
        case "llama-3.1-405b": return llama(name, hidden: 16384, layers: 126, heads: 128, intermediate: 53248)
        case "deepseek-v3": return deepseekV3()
        default: return nil
        }
    }

    /// Llama 3.1: grouped-query attention with 8 KV heads of 128, SwiGLU MLP, untied head, vocabulary 128256.
    static func llama(_ name: String, hidden: Int, layers: Int, heads: Int, intermediate: Int) -> SyntheticArchitecture {
        let vocab = 128_256, kv = 8 * 128
        var t: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden])]
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            t += [(p + "input_layernorm.weight", [hidden]), (p + "post_attention_layernorm.weight", [hidden]),
                  (p + "self_attn.q_proj.weight", [hidden, hidden]), (p + "self_attn.k_proj.weight", [kv, hidden]),
                  (p + "self_attn.v_proj.weight", [kv, hidden]), (p + "self_attn.o_proj.weight", [hidden, hidden]),
                  (p + "mlp.gate_proj.weight", [intermediate, hidden]), (p + "mlp.up_proj.weight", [intermediate, hidden]),
                  (p + "mlp.down_proj.weight", [hidden, intermediate])]
        }
        t += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]
        let config = """
            {"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":\(hidden),"intermediate_size":\(intermediate),\
            "num_hidden_layers":\(layers),"num_attention_heads":\(heads),"num_key_value_heads":8,"head_dim":128,"vocab_size":\(vocab),\
            "max_position_embeddings":131072,"rms_norm_eps":1e-05,"rope_theta":500000.0,\
            "rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},\
            "tie_word_embeddings":false,"torch_dtype":"bfloat16"}
            """
        return SyntheticArchitecture(name: name, config: config, tensors: t)
    }

    /// DeepSeek-V3 (671B): multi-head latent attention, 3 dense layers then 58 MoE layers of 256 routed experts
    /// and 1 shared expert, and the multi-token-prediction layer 61 as shipped in the checkpoint.
    static func deepseekV3() -> SyntheticArchitecture {
        let hidden = 7168, vocab = 129_280, heads = 128, experts = 256, moe = 2048, dense = 18432
        let qLora = 1536, kvLora = 512, nope = 128, rope = 64, v = 128
        var t: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden])]
        for l in 0...61 {
            let p = "model.layers.\(l)."
            t += [(p + "input_layernorm.weight", [hidden]), (p + "post_attention_layernorm.weight", [hidden]),
                  (p + "self_attn.q_a_proj.weight", [qLora, hidden]), (p + "self_attn.q_a_layernorm.weight", [qLora]),
                  (p + "self_attn.q_b_proj.weight", [heads * (nope + rope), qLora]),
                  (p + "self_attn.kv_a_proj_with_mqa.weight", [kvLora + rope, hidden]), (p + "self_attn.kv_a_layernorm.weight", [kvLora]),
                  (p + "self_attn.kv_b_proj.weight", [heads * (nope + v), kvLora]), (p + "self_attn.o_proj.weight", [hidden, heads * v])]
            func mlp(_ prefix: String, _ inner: Int) -> [(String, [Int])] {
                [(prefix + "gate_proj.weight", [inner, hidden]), (prefix + "up_proj.weight", [inner, hidden]), (prefix + "down_proj.weight", [hidden, inner])]
            }
            if l < 3 {
                t += mlp(p + "mlp.", dense)
            } else {
                t += [(p + "mlp.gate.weight", [experts, hidden]), (p + "mlp.gate.e_score_correction_bias", [experts])]
                for e in 0..<experts { t += mlp(p + "mlp.experts.\(e).", moe) }
                t += mlp(p + "mlp.shared_experts.", moe)
            }
            if l == 61 {
                t += [(p + "embed_tokens.weight", [vocab, hidden]), (p + "enorm.weight", [hidden]), (p + "hnorm.weight", [hidden]),
                      (p + "eh_proj.weight", [hidden, 2 * hidden]), (p + "shared_head.norm.weight", [hidden]),
                      (p + "shared_head.head.weight", [vocab, hidden])]
            }
        }
        t += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]
        let config = """
            {"architectures":["DeepseekV3ForCausalLM"],"model_type":"deepseek_v3","hidden_size":\(hidden),"intermediate_size":\(dense),\
            "moe_intermediate_size":\(moe),"num_hidden_layers":61,"num_nextn_predict_layers":1,"num_attention_heads":\(heads),\
            "num_key_value_heads":\(heads),"n_routed_experts":\(experts),"n_shared_experts":1,"num_experts_per_tok":8,\
            "first_k_dense_replace":3,"q_lora_rank":\(qLora),"kv_lora_rank":\(kvLora),"qk_nope_head_dim":\(nope),"qk_rope_head_dim":\(rope),\
            "v_head_dim":\(v),"vocab_size":\(vocab),"rms_norm_eps":1e-06,"tie_word_embeddings":false,"torch_dtype":"bfloat16"}
            """
        return SyntheticArchitecture(name: "deepseek-v3", config: config, tensors: t)
    }
}
