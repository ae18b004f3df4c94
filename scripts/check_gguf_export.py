#!/usr/bin/env python3
"""Checks a `uqcit export --format gguf` file with llama.cpp's own reader (the `gguf` package): it opens, every
tensor dequantizes with gguf.quants.dequantize, and, after llama's Q/K rows are put back in Hugging Face order,
equals the same package's `uqcit export` (Hugging Face folder, source dtype) bit for bit in that dtype. Llama-family
files and BERT ("bert") files.

  python3 scripts/check_gguf_export.py FILE.gguf HF_DIR      (pip install gguf torch safetensors)
"""
import json
import re
import sys

import gguf
import numpy as np
import torch
from gguf import quants
from safetensors.torch import load_file

WHOLE = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
         "output.weight": "lm_head.weight"}
PER_LAYER = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}


# BERT (llama.cpp's "bert"): no pooler and no position_ids in the file, as convert_hf_to_gguf.py leaves them out.
BERT_WHOLE = {"token_embd": "embeddings.word_embeddings", "token_types": "embeddings.token_type_embeddings",
              "position_embd": "embeddings.position_embeddings", "token_embd_norm": "embeddings.LayerNorm"}
BERT_PER_LAYER = {"attn_q": "attention.self.query", "attn_k": "attention.self.key", "attn_v": "attention.self.value",
                  "attn_output": "attention.output.dense", "attn_output_norm": "attention.output.LayerNorm",
                  "ffn_up": "intermediate.dense", "ffn_down": "output.dense", "layer_output_norm": "output.LayerNorm"}
BERT_DROPPED = re.compile(r"(bert\.)?(pooler\..*|embeddings\.position_ids)")


def hf_name(name, arch="llama"):
    if arch == "bert":
        m = re.fullmatch(r"(?:blk\.(\d+)\.)?([a-z_]+)\.(weight|bias)", name)
        if not m:
            return None
        if m.group(1) is None:
            return f"{BERT_WHOLE[m.group(2)]}.{m.group(3)}" if m.group(2) in BERT_WHOLE else None
        return f"encoder.layer.{m.group(1)}.{BERT_PER_LAYER[m.group(2)]}.{m.group(3)}" if m.group(2) in BERT_PER_LAYER else None
    if name in WHOLE:
        return WHOLE[name]
    m = re.fullmatch(r"blk\.(\d+)\.([a-z_]+)\.(weight|bias)", name)
    return f"model.layers.{m.group(1)}.{PER_LAYER[m.group(2)]}.{m.group(3)}" if m and m.group(2) in PER_LAYER else None


def unpermute(w, heads):
    # convert_hf_to_gguf.py's LlamaModel.permute, undone: rows (head, half, pair) -> (head, pair, half).
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main(path, hf_dir):
    reader = gguf.GGUFReader(path)
    field = lambda k: reader.fields[k].parts[reader.fields[k].data[0]][0]
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    heads = int(field(f"{arch}.attention.head_count"))
    kv_heads = int(field(f"{arch}.attention.head_count_kv")) if f"{arch}.attention.head_count_kv" in reader.fields else heads
    reference = load_file(f"{hf_dir}/model.safetensors")
    checked = differing = 0
    types = {}
    for t in reader.tensors:
        name = hf_name(t.name, arch)
        if name is None:
            continue  # rope_freqs: not a weight of the checkpoint
        w = quants.dequantize(np.asarray(t.data), t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
        if arch == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            w = unpermute(w, heads if "q_proj" in name else kv_heads)
        ref = reference[name]
        got = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)).to(ref.dtype).reshape(ref.shape)
        diff = int((got.view(torch.int16 if ref.element_size() == 2 else torch.int32) !=
                    ref.view(torch.int16 if ref.element_size() == 2 else torch.int32)).sum())
        checked += ref.numel()
        differing += diff
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
        if diff:
            print(f"{t.name} ({name}): {diff} of {ref.numel()} differ", file=sys.stderr)
    missing = sorted(n for n in set(reference) - {hf_name(t.name, arch) for t in reader.tensors}
                     if not (arch == "bert" and BERT_DROPPED.fullmatch(n)))
    print(json.dumps({"file": path, "tensors": len(reader.tensors), "types": types, "weights_checked": checked,
                      "weights_differing": differing, "missing_from_gguf": missing}))
    return 1 if differing or missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
