#!/usr/bin/env python3
"""End-to-end check of a SentencePiece tokenizer through our GGUF export: a small random Llama checkpoint carrying
the fixture tokenizer (Tests/EngineTests/Fixtures/sentencepiece: tokenizer.model, no tokenizer.json) is
compressed (`coordinator start --profile gguf-q8_0`) and exported (`uqcit export --format gguf`); llama.cpp's
llama-tokenize then tokenizes lines of SmolLM2's eval text with the exported file, and its ids must equal the
`sentencepiece` package's own (with the BOS the tokenizer config asks for).

  pip install sentencepiece safetensors numpy; scripts/llama-cpp.sh
  python3 scripts/check_sentencepiece_gguf.py [--lines N]     (default 400)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import sentencepiece as spm
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests", "EngineTests", "Fixtures", "sentencepiece")
SWIFT_BIN = os.environ.get("SWIFT_BIN", os.path.join(ROOT, ".build", "debug"))
TOKENIZE = os.path.join(ROOT, "out", "peers", "bin", "llama-tokenize")
TEXT = os.path.join(ROOT, "..", "shared", "models", "smollm2-135m", "eval.txt")


def checkpoint(folder):
    """Random weights, the fixture's vocabulary size, Llama's tensor names."""
    cfg = json.load(open(os.path.join(FIXTURE, "config.json")))
    hidden, inter, layers, heads, kv = 64, 128, 2, 4, 2
    cfg.update({"hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
                "num_key_value_heads": kv, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 512,
                "tie_word_embeddings": False, "torch_dtype": "float32", "hidden_act": "silu"})
    rng = np.random.default_rng(0)
    w = lambda *s: (rng.standard_normal(s) * 0.05).astype(np.float32)
    v, d = cfg["vocab_size"], hidden // heads
    tensors = {"model.embed_tokens.weight": w(v, hidden), "lm_head.weight": w(v, hidden), "model.norm.weight": np.ones(hidden, np.float32)}
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors.update({p + "self_attn.q_proj.weight": w(heads * d, hidden), p + "self_attn.k_proj.weight": w(kv * d, hidden),
                        p + "self_attn.v_proj.weight": w(kv * d, hidden), p + "self_attn.o_proj.weight": w(hidden, heads * d),
                        p + "mlp.gate_proj.weight": w(inter, hidden), p + "mlp.up_proj.weight": w(inter, hidden),
                        p + "mlp.down_proj.weight": w(hidden, inter), p + "input_layernorm.weight": np.ones(hidden, np.float32),
                        p + "post_attention_layernorm.weight": np.ones(hidden, np.float32)})
    os.makedirs(folder)
    save_file(tensors, os.path.join(folder, "model.safetensors"))
    json.dump(cfg, open(os.path.join(folder, "config.json"), "w"), indent=1)
    for name in ["tokenizer.model", "tokenizer_config.json", "added_tokens.json"]:
        shutil.copy(os.path.join(FIXTURE, name), folder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=400)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="spm-gguf-")
    model, pkg, out = os.path.join(work, "model"), os.path.join(work, "pkg"), os.path.join(work, "model.gguf")
    checkpoint(model)
    subprocess.run([os.path.join(SWIFT_BIN, "coordinator"), "start", "--model", model, "--profile", "gguf-q8_0", "--out", pkg,
                    "--workers", "1"], check=True, capture_output=True)
    subprocess.run([os.path.join(SWIFT_BIN, "uqcit"), "export", pkg, "--format", "gguf", "--out", out], check=True, capture_output=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(FIXTURE, "tokenizer.model"))
    lines = [l for l in open(TEXT, encoding="utf-8").read().splitlines() if l.strip()][:args.lines]
    differing = 0
    for line in lines:
        ours = subprocess.run([TOKENIZE, "-m", out, "-p", line, "--ids", "--log-disable"], check=True, capture_output=True, text=True).stdout
        got = json.loads(ours.strip().splitlines()[-1])
        want = [sp.bos_id()] + sp.encode(line)
        if got != want:
            differing += 1
            print(f"differs: {line[:60]!r}\n  llama.cpp {got[:20]}\n  spm       {want[:20]}", file=sys.stderr)
    print(json.dumps({"lines": len(lines), "lines_differing": differing} | ({"kept": work} if differing else {})))
    if not differing:
        shutil.rmtree(work)
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
