#!/usr/bin/env python3
"""Fixture: what llama-quantize itself writes for tiny-llama-bytes at each GGUF mix, as a SHA-256 per tensor.

With `ggml_codes: reference` our GGUF profiles must give the same bytes, tensor for tensor: that checks our ports
of llama.cpp's reference quantizers (k-quants included) and its type rules against llama.cpp itself.
Needs the peer (scripts/llama-cpp.sh) and the F32 source (scripts/tiny_llama_to_gguf.py):

  python3 scripts/llama_quantize_digests.py [BIN_DIR] [F32_GGUF]

It also writes an importance matrix (llama-imatrix on the F32 source over training-domain text from
scripts/calibration_text.py) as a fixture, and under "imatrix_mixes" what `llama-quantize --imatrix` writes with it:
llama.cpp's importance-weighted quantizers (quantize_row_*_impl), which our reference ports must match too.
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
IMATRIX_MIXES = ["Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K", "Q4_0"]
FIXTURES = os.path.join(ROOT, "Tests", "PipelineTests", "Fixtures")
OUT = os.path.join(FIXTURES, "llama-quantize-tiny-llama.json")
# .bytes: the repository keeps *.gguf for models, never commits them.
IMATRIX = os.path.join(FIXTURES, "tiny-llama.imatrix.gguf.bytes")


def digests(path):
    return {t.name: {"type": t.tensor_type.name, "sha256": hashlib.sha256(np.asarray(t.data).view(np.uint8).tobytes()).hexdigest()}
            for t in gguf.GGUFReader(path).tensors}


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
            fixture["mixes"][mix] = digests(out)
        text, imatrix = os.path.join(tmp, "calibration.txt"), os.path.join(tmp, "imatrix.gguf")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "calibration_text.py"), "tiny-llama", text, "--bytes", "32768"],
                       check=True, capture_output=True)
        subprocess.run([os.path.join(bin_dir, "llama-imatrix"), "-m", source, "-f", text, "-o", imatrix, "-c", "512", "-t", "2"],
                       check=True, capture_output=True)
        with open(imatrix, "rb") as f, open(IMATRIX, "wb") as g:
            g.write(f.read())
        fixture["imatrix_mixes"] = {}
        for mix in IMATRIX_MIXES:
            out = os.path.join(tmp, mix + "-imatrix.gguf")
            subprocess.run([os.path.join(bin_dir, "llama-quantize"), "--imatrix", imatrix, source, out, mix], check=True, capture_output=True)
            fixture["imatrix_mixes"][mix] = digests(out)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
