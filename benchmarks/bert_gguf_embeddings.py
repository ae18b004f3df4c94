#!/usr/bin/env python3
"""llama.cpp runs our BERT GGUF files: each file's sentence embeddings from llama.cpp's `llama-embedding` (the
model's own pooling, L2-normalised) against the source checkpoint's, computed by transformers (mean pooling over
the attention mask, L2-normalised, as sentence-transformers does for all-MiniLM-L6-v2). Prints the mean and the
lowest cosine per file, with its tensor bytes and bits per weight.

  python3 benchmarks/bert_gguf_embeddings.py MODEL_DIR FILE.gguf [FILE.gguf ...] [--sentences FILE] [--json OUT]

llama-embedding is not among scripts/llama-cpp.sh's tools; build it in the same tree first:
  cmake -S out/peers/llama_cpp_python-0.3.36/vendor/llama.cpp -B out/peers/build-0.3.36 -DLLAMA_BUILD_EXAMPLES=ON
  cmake --build out/peers/build-0.3.36 --target llama-embedding -j 2
"""
import argparse
import json
import os
import subprocess

import gguf
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMBEDDING = os.environ.get("LLAMA_EMBEDDING", os.path.join(ROOT, "out", "peers", "build-0.3.36", "bin", "llama-embedding"))


def reference(model_dir, sentences):
    tokenizer, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()
    out = []
    with torch.no_grad():
        for s in sentences:
            t = tokenizer(s, return_tensors="pt")
            h = model(**t).last_hidden_state[0]
            m = t["attention_mask"][0].unsqueeze(-1).float()
            e = (h * m).sum(0) / m.sum()
            out.append((e / e.norm()).numpy())
    return np.stack(out)


def llama_cpp(path, sentences):
    # One sentence per prompt line; --embd-normalize 2 is the L2 norm.
    done = subprocess.run([EMBEDDING, "-m", path, "-p", "\n".join(sentences), "--embd-normalize", "2",
                           "--embd-output-format", "json", "-t", "2", "-b", "512", "-ub", "512", "-c", "512"],
                          check=True, capture_output=True, text=True)
    data = json.loads(done.stdout)["data"]
    return np.stack([np.array(d["embedding"], dtype=np.float64) for d in sorted(data, key=lambda d: d["index"])])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--sentences", default=os.path.join(ROOT, "benchmarks", "sentences.txt"))
    ap.add_argument("--json")
    args = ap.parse_args()
    sentences = [s.strip() for s in open(args.sentences) if s.strip()]
    ref = reference(args.model_dir, sentences)
    rows = []
    for f in args.files:
        got = llama_cpp(f, sentences)
        cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
        tensors = gguf.GGUFReader(f).tensors
        nbytes, params = sum(int(t.n_bytes) for t in tensors), sum(int(t.n_elements) for t in tensors)
        rows.append({"file": f, "sentences": len(sentences), "mean_cosine": float(cos.mean()), "min_cosine": float(cos.min()),
                     "tensor_bytes": nbytes, "bits_per_weight": 8 * nbytes / params})
        print(f"{f}: {len(sentences)} sentences, mean cosine {cos.mean():.5f}, lowest {cos.min():.5f}, "
              f"{nbytes} tensor bytes ({8 * nbytes / params:.3f} bpw)")
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
