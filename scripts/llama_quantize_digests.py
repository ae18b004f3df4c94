#!/usr/bin/env python3
"""Fixture: what llama-quantize itself writes for tiny-llama-bytes at each GGUF mix, as a SHA-256 per tensor.

With `ggml_codes: reference` our GGUF profiles must give the same bytes, tensor for tensor: that checks our ports
of llama.cpp's reference quantizers (k-quants included) and its type rules against llama.cpp itself.
Needs the peer (scripts/llama-cpp.sh) and the F32 source (scripts/tiny_llama_to_gguf.py):

  python3 scripts/llama_quantize_digests.py [BIN_DIR] [F32_GGUF]
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIXES = ["Q8_0", "Q6_K", "Q4_K_M", "Q4_K_S", "IQ4_XS", "Q3_K_M", "Q2_K", "Q4_0"]
OUT = os.path.join(ROOT, "Tests", "PipelineTests", "Fixtures", "llama-quantize-tiny-llama.json")


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "out", "peers", "bin")
    source = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "out", "peers", "tiny-llama", "F32.gguf")
    version = open(os.path.join(bin_dir, "VERSION")).read().strip()
    fixture = {"made_with": f"llama-quantize from the llama-cpp-python {version} sdist, source {os.path.basename(source)}",
               "mixes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mix in MIXES:
            out = os.path.join(tmp, mix + ".gguf")
            subprocess.run([os.path.join(bin_dir, "llama-quantize"), source, out, mix], check=True, capture_output=True)
            reader = gguf.GGUFReader(out)
            fixture["mixes"][mix] = {t.name: {"type": t.tensor_type.name,
                                              "sha256": hashlib.sha256(np.asarray(t.data).view(np.uint8).tobytes()).hexdigest()}
                                     for t in reader.tensors}
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
