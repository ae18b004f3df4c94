#!/usr/bin/env python3
"""Fixture: what llama-quantize writes for all-MiniLM-L6-v2 (a BERT) at a few GGUF mixes, as a SHA-256 per tensor.

With `ggml_codes: reference` our GGUF profiles must give the same file contents for a BERT too: llama.cpp's tensor
names and type rules for its "bert" architecture, and its reference quantizers. The F32 source is made by
llama.cpp's own converter (convert_hf_to_gguf.py from the same sdist; needs torch and transformers).
Needs the peer (scripts/llama-cpp.sh):

  python3 scripts/llama_quantize_minilm_digests.py [BIN_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_quantize_digests import digests  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "..", "shared", "models", "all-MiniLM-L6-v2")
CONVERT = os.path.join(ROOT, "out", "peers", "llama_cpp_python-0.3.36", "vendor", "llama.cpp", "convert_hf_to_gguf.py")
MIXES = ["Q8_0", "Q4_K_M", "Q2_K"]
OUT = os.path.join(ROOT, "Tests", "PipelineTests", "Fixtures", "llama-quantize-minilm.json")


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "out", "peers", "bin")
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "F32.gguf")
        subprocess.run([sys.executable, CONVERT, MODEL, "--outtype", "f32", "--outfile", source], check=True, capture_output=True)
        mixes = {}
        for mix in MIXES:
            out = os.path.join(tmp, f"{mix}.gguf")
            subprocess.run([os.path.join(bin_dir, "llama-quantize"), source, out, mix], check=True, capture_output=True)
            mixes[mix] = digests(out)
    with open(OUT, "w") as f:
        json.dump({"model": "all-MiniLM-L6-v2", "mixes": mixes}, f, indent=1, sort_keys=True)
    print(f"wrote {OUT}: {', '.join(f'{m} ({len(d)} tensors)' for m, d in mixes.items())}")


if __name__ == "__main__":
    main()
