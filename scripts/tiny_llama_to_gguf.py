#!/usr/bin/env python3
"""Converts ../shared/models/tiny-llama-bytes (Hugging Face Llama, BF16 safetensors) into an F32 GGUF for the peer.

llama-quantize reads this file to pick its per-tensor types on a model whose rows are multiples of 256, and
llama-perplexity scores it (and its quantized versions) on the model's eval.txt. What convert_hf_to_gguf.py does
for a Llama, done here with numpy and the gguf package (it is not on PyPI):
- names: model.layers.N.self_attn.q_proj -> blk.N.attn_q and so on; lm_head -> output (the model is untied);
- attn_q / attn_k rows are permuted from Hugging Face's rotate-half RoPE layout to ggml's interleaved pairs;
- every tensor is stored as F32 (the BF16 values exactly), general.file_type 0 (ALL_F32).
Tokenizer: the model's vocabulary is the 256 byte values (token id = byte). As a GPT-2 byte-level BPE vocabulary
that is token i = GPT-2's printable character for byte i, so llama.cpp's tokenizer maps each byte to its id. llama.cpp
requires a merges list and the gguf package refuses an empty one, so there is one merge of two-character pieces
that no input can form; no BOS/EOS is added.

Usage: scripts/tiny_llama_to_gguf.py [MODEL_DIR] [OUT]   (defaults: ../shared/models/tiny-llama-bytes,
       out/peers/tiny-llama/F32.gguf)
"""
import json
import os
import sys

import gguf
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LAYER_NAMES = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        dtype = meta["dtype"]
        if dtype == "BF16":
            w = (np.frombuffer(data[a:b], "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in ("F16", "F32"):
            w = np.frombuffer(data[a:b], "<f2" if dtype == "F16" else "<f4").astype(np.float32)
        else:
            raise ValueError(f"{name}: unsupported dtype {dtype}")
        out[name] = w.reshape(meta["shape"])
    return out


def rope_permute(w, n_head):
    """Rows of each head from [first halves | second halves] (rotate_half) to interleaved pairs, as convert_hf_to_gguf."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_name(hf_name):
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name == "lm_head.weight":
        return "output.weight"
    parts = hf_name.split(".")
    if parts[:2] == ["model", "layers"]:
        module = ".".join(parts[3:-1])
        return f"blk.{parts[2]}.{LAYER_NAMES[module]}.{parts[-1]}"
    raise ValueError(f"unexpected tensor {hf_name}")


def gpt2_byte_chars():
    """GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100 onwards."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def add_byte_tokenizer(writer):
    """The 256 byte values as a GPT-2 byte-level vocabulary (see the module's docstring), no BOS/EOS added."""
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(gpt2_byte_chars())
    writer.add_token_types([gguf.TokenType.NORMAL] * 256)
    writer.add_token_merges(["ĠĠ ĠĠ"])
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(0)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "../shared/models/tiny-llama-bytes")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "out/peers/tiny-llama/F32.gguf")
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    n_head, n_head_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // n_head)

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_name("tiny-llama-bytes")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_block_count(cfg["num_hidden_layers"])
    writer.add_context_length(cfg["max_position_embeddings"])
    writer.add_embedding_length(cfg["hidden_size"])
    writer.add_feed_forward_length(cfg["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(cfg["rope_theta"])
    writer.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    writer.add_vocab_size(cfg["vocab_size"])

    add_byte_tokenizer(writer)

    for hf_name, w in weights.items():
        if hf_name.endswith("q_proj.weight"):
            w = rope_permute(w, n_head)
        elif hf_name.endswith("k_proj.weight"):
            w = rope_permute(w, n_head_kv)
        writer.add_tensor(gguf_name(hf_name), np.ascontiguousarray(w, dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(out)


if __name__ == "__main__":
    main()
