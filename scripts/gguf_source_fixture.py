#!/usr/bin/env python3
"""Fixtures for the GGUF reader, writer, source and tokenizer, made with llama.cpp's own Python package (`gguf`).

Files (Tests/EngineTests/Fixtures/gguf/):
- smollm2_rows.json + smollm2_*.f32: a few rows of a few SmolLM2-135M tensors as gguf.quants.dequantize gives
  them, under their Hugging Face names, attn_q/attn_k rows put back in HF order with numpy's reshape (the reverse of
  convert_hf_to_gguf.py's LlamaModel.permute), for GGUFSource.
- smollm2_header.json: counts, metadata values and tensor infos as gguf.GGUFReader reads them, for GGUFFile.
- writer_reference.gguf.bytes (a 1 KB GGUF; not named .gguf, which the repository keeps for models): a small file written by gguf.GGUFWriter with every metadata type, F32/F16 tensors and raw
  Q8_0 blocks; GGUFWriter's test writes the same content and must produce these bytes exactly.
- minilm_special.json: gguf.SpecialVocab's special token ids and add flags for all-MiniLM-L6-v2.
Run: python3 scripts/gguf_source_fixture.py (pip install gguf==0.19.0 numpy); needs ../shared/models.
"""
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "EngineTests", "Fixtures", "gguf")
MODELS = os.path.normpath(os.path.join(ROOT, "..", "shared", "models"))
SMOLLM2 = os.path.join(MODELS, "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf")

# (GGUF name, HF name, first row, row count) in HF row order.
ROWS = [
    ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", 0, 1),
    ("output_norm.weight", "model.norm.weight", 0, 1),
    ("blk.29.ffn_norm.weight", "model.layers.29.post_attention_layernorm.weight", 0, 1),
    ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", 60, 8),      # crosses a head boundary
    ("blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight", 0, 6),
    ("blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight", 186, 6),     # the last 6 rows
    ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", 570, 6),
    ("token_embd.weight", "model.embed_tokens.weight", 49148, 4),
]


def unpermute(w, n_head):
    """HF order from llama.cpp's: the inverse of LlamaModel.permute, by reshaping."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def field(reader, key):
    return reader.fields[key].contents()


def smollm2():
    r = gguf.GGUFReader(SMOLLM2)
    n_head = field(r, "llama.attention.head_count")
    n_head_kv = field(r, "llama.attention.head_count_kv")
    tensors = {t.name: t for t in r.tensors}
    entries = []
    for i, (gname, hfname, start, count) in enumerate(ROWS):
        t = tensors[gname]
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape(-1, int(t.shape[0]))                     # rows of ne[0] columns
        if gname.endswith("attn_q.weight"):
            w = unpermute(w, n_head)
        elif gname.endswith("attn_k.weight"):
            w = unpermute(w, n_head_kv)
        rows = w[start:start + count]
        fname = f"smollm2_{i}.f32"
        rows.astype("<f4").tofile(os.path.join(OUT, fname))
        entries.append({"gguf": gname, "hf": hfname, "start": start, "count": count,
                        "columns": int(w.shape[1]), "file": fname})
    with open(os.path.join(OUT, "smollm2_rows.json"), "w") as f:
        json.dump(entries, f, indent=1)

    tokens = field(r, "tokenizer.ggml.tokens")
    merges = field(r, "tokenizer.ggml.merges")
    header = {
        "version": field(r, "GGUF.version"),
        "tensor_count": len(r.tensors),
        "kv_count": field(r, "GGUF.kv_count"),
        "alignment": r.alignment,
        "data_offset": r.data_offset,
        "keys": [k for k in r.fields if not k.startswith("GGUF.")],
        "token_count": len(tokens),
        "tokens_sample": {str(i): tokens[i] for i in (0, 1, 2, 100, 1000, len(tokens) - 1)},
        "merge_count": len(merges),
        "merges_sample": [merges[0], merges[1], merges[-1]],
        "token_type_sample": {str(i): int(field(r, "tokenizer.ggml.token_type")[i]) for i in (0, 1, 2, 100)},
        "chat_template": field(r, "tokenizer.chat_template"),
        "tensors": [{"name": t.name, "type": t.tensor_type.name, "ne": [int(x) for x in t.shape],
                     "offset": int(t.data_offset) - r.data_offset} for t in r.tensors[:12]],
    }
    with open(os.path.join(OUT, "smollm2_header.json"), "w") as f:
        json.dump(header, f, indent=1, ensure_ascii=False)


def writer_reference():
    path = os.path.join(OUT, "writer_reference.gguf.bytes")
    w = gguf.GGUFWriter(path, "test")
    w.add_key_value("test.u8", 200, V.UINT8)
    w.add_key_value("test.i8", -100, V.INT8)
    w.add_key_value("test.u16", 60000, V.UINT16)
    w.add_key_value("test.i16", -30000, V.INT16)
    w.add_key_value("test.u32", 4000000000, V.UINT32)
    w.add_key_value("test.i32", -2000000000, V.INT32)
    w.add_key_value("test.u64", 2**63 + 5, V.UINT64)
    w.add_key_value("test.i64", -2**62, V.INT64)
    w.add_key_value("test.f32", 1.5, V.FLOAT32)
    w.add_key_value("test.f64", -2.25, V.FLOAT64)
    w.add_key_value("test.bool", True, V.BOOL)
    w.add_key_value("test.str", "héllo", V.STRING)
    w.add_key_value("test.arr_i32", [1, -2, 3], V.ARRAY)
    w.add_key_value("test.arr_str", ["a", "bc", ""], V.ARRAY)
    w.add_key_value("test.arr_bool", [True, False], V.ARRAY)
    w.add_key_value("test.nested", [[1, 2], [3]], V.ARRAY)
    w.add_tensor("a.weight", np.arange(15, dtype=np.float32).reshape(3, 5) / 4)
    w.add_tensor("b.weight", (np.arange(8, dtype=np.float32).reshape(2, 4) - 3.5).astype(np.float16))
    q8 = (np.arange(2 * 34) * 7 % 256).astype(np.uint8).reshape(2, 34)
    w.add_tensor("c.weight", q8, raw_dtype=T.Q8_0)
    w.add_tensor("d.bias", np.array([1, -1, 0.5, 2, 3, 4, 5], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # Read back with gguf's reader as a self-check.
    r = gguf.GGUFReader(path)
    assert [t.name for t in r.tensors] == ["a.weight", "b.weight", "c.weight", "d.bias"]
    # GGUFReader flattens nested arrays in contents(); the types show the nesting.
    assert r.fields["test.nested"].types == [V.ARRAY, V.ARRAY, V.INT32] and field(r, "test.nested") == [1, 2, 3]


def minilm_special():
    folder = os.path.join(MODELS, "all-MiniLM-L6-v2")
    sv = gguf.SpecialVocab(folder, n_vocab=30522)
    with open(os.path.join(OUT, "minilm_special.json"), "w") as f:
        json.dump({"ids": sv.special_token_ids, "add": sv.add_special_token}, f, indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    smollm2()
    writer_reference()
    minilm_special()
    print("fixtures written to", os.path.normpath(OUT))
