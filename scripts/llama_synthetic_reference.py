#!/usr/bin/env python3
"""Numpy reference for the Llama-family features tiny-llama does not exercise: qwen2-style q/k/v biases, tied
embeddings (no lm_head stored), grouped-query attention and llama3 rope_scaling. The weights follow a formula
that the Swift test reproduces exactly, so no weights are committed, only the expected log-probabilities:

    python3 scripts/llama_synthetic_reference.py > Tests/RuntimeTests/Fixtures/qwen2_synthetic_reference.json

Weight k of the name list below, element i (row-major): scale * sin(0.7 * i + 1.1 * k + 0.3), in float64 and then
rounded to float32; norm weights are 1 + 0.1 * sin(...). Forward pass as Hugging Face Qwen2/Llama: RMSNorm,
rotate_half RoPE, repeat_kv, SwiGLU, final norm, head tied to the embeddings.
"""
import json, math
import numpy as np

CONFIG = {
    "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 40, "hidden_size": 32,
    "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": True,
    "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 64},
}
TOKENS = [3, 17, 5, 39, 0, 22, 8, 8, 31, 12, 1, 27]


def tensors(cfg):
    """(name, shape, kind) in the order that defines k; kind: 'w' weight (scale 0.2), 'b' bias (0.1), 'n' norm."""
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = D // cfg["num_attention_heads"]; q = cfg["num_attention_heads"] * hd; kv = cfg["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", [V, D], "w")]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", [D], "n"),
                (p + "self_attn.q_proj.weight", [q, D], "w"), (p + "self_attn.q_proj.bias", [q], "b"),
                (p + "self_attn.k_proj.weight", [kv, D], "w"), (p + "self_attn.k_proj.bias", [kv], "b"),
                (p + "self_attn.v_proj.weight", [kv, D], "w"), (p + "self_attn.v_proj.bias", [kv], "b"),
                (p + "self_attn.o_proj.weight", [D, q], "w"),
                (p + "post_attention_layernorm.weight", [D], "n"),
                (p + "mlp.gate_proj.weight", [F, D], "w"), (p + "mlp.up_proj.weight", [F, D], "w"),
                (p + "mlp.down_proj.weight", [D, F], "w")]
    out.append(("model.norm.weight", [D], "n"))
    return out


def weights(cfg):
    W = {}
    for k, (name, shape, kind) in enumerate(tensors(cfg)):
        i = np.arange(int(np.prod(shape)), dtype=np.float64)
        s = np.sin(0.7 * i + 1.1 * k + 0.3)
        v = 1 + 0.1 * s if kind == "n" else (0.2 if kind == "w" else 0.1) * s
        W[name] = v.astype(np.float32).reshape(shape)
    return W


def inv_freq(cfg, hd):
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    s = cfg.get("rope_scaling")
    if s and s.get("rope_type") == "llama3":  # transformers _compute_llama3_parameters
        factor, low, high, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
        low_w, high_w = old / low, old / high
        wavelen = 2 * math.pi / inv
        llama = np.where(wavelen > low_w, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * llama / factor + smooth * llama
        medium = ~(wavelen < high_w) & ~(wavelen > low_w)
        inv = np.where(medium, smoothed, llama)
    return inv


def forward_logprobs(W, cfg, tok):
    T = len(tok); D, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H; rep = H // KV; eps = cfg["rms_norm_eps"]
    f = np.outer(np.arange(T, dtype=np.float64), inv_freq(cfg, hd)); emb = np.concatenate([f, f], -1)
    cos, sin = np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)
    rms = lambda x, w: x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps) * w
    rope = lambda x: x * cos + np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1) * sin
    x = W["model.embed_tokens.weight"][tok]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        lin = lambda h, n: h @ W[p + n + ".weight"].T + (W[p + n + ".bias"] if p + n + ".bias" in W else 0)
        h = rms(x, W[p + "input_layernorm.weight"])
        q = lin(h, "self_attn.q_proj").reshape(T, H, hd).transpose(1, 0, 2)
        k = lin(h, "self_attn.k_proj").reshape(T, KV, hd).transpose(1, 0, 2)
        v = lin(h, "self_attn.v_proj").reshape(T, KV, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        k = np.repeat(k, rep, 0); v = np.repeat(v, rep, 0)
        s = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(hd)) + np.triu(np.full((T, T), -np.inf, np.float32), 1)
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        x = x + lin((s @ v).transpose(1, 0, 2).reshape(T, H * hd), "self_attn.o_proj")
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        g = lin(h, "mlp.gate_proj")
        x = x + lin((g / (1 + np.exp(-g))) * lin(h, "mlp.up_proj"), "mlp.down_proj")
    logits = rms(x, W["model.norm.weight"]) @ W["model.embed_tokens.weight"].T
    m = logits.max(-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))


if __name__ == "__main__":
    lp = forward_logprobs(weights(CONFIG), CONFIG, np.array(TOKENS))
    print(json.dumps({"generated_by": "python3 scripts/llama_synthetic_reference.py", "config": CONFIG, "tokens": TOKENS,
                      "logprobs": [[float("%.7g" % v) for v in row] for row in lp]}))
