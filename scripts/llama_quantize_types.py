#!/usr/bin/env python3
"""Records the per-tensor types llama-quantize picks for each mix, as a fixture for GGUFMixTests.

Runs the peer's llama-quantize (scripts/llama-cpp.sh builds it) on SOURCE once per mix, into OUT_DIR/<MIX>.gguf
(skipped when that file exists), reads every output with the gguf package and writes FIXTURE: the source's model
facts and tensors (name, shape in ggml order, source type) and, per mix, each tensor's type, the bytes of all
tensors and the file's size. llama-quantize runs with --allow-requantize only, so a quantized source (SmolLM2's
Q4_1 file) works.

Usage: scripts/llama_quantize_types.py SOURCE OUT_DIR FIXTURE [--quantize BIN] [--mixes Q4_K_M Q8_0 ...]
"""
import argparse
import json
import os
import subprocess
import sys

import gguf

# Every mix GGUFMix models, in its declaration order.
MIXES = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0",
         "IQ4_XS", "IQ4_NL", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def tensors(reader):
    return {t.name: (t.tensor_type.name, [int(d) for d in t.shape], int(t.n_bytes)) for t in reader.tensors}


def compact_json(value, indent=0):
    """JSON with short objects and lists of scalars on one line, so the fixture stays small and diffs readable."""
    inline = json.dumps(value, separators=(", ", ": "))
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    if len(inline) <= 100 or not any(isinstance(v, (dict, list)) for v in children):
        return inline
    pad = "  " * indent
    if isinstance(value, dict):
        items = [f"{pad}  {json.dumps(k)}: {compact_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{pad}  {compact_json(v, indent + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source")
    ap.add_argument("out_dir")
    ap.add_argument("fixture")
    ap.add_argument("--quantize", default=os.path.join(ROOT, "out/peers/bin/llama-quantize"))
    ap.add_argument("--mixes", nargs="+", default=MIXES)
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    source = gguf.GGUFReader(args.source)
    arch = field(source, "general.architecture")
    source_tensors = tensors(source)

    fixture = {
        "source": os.path.basename(args.source),
        "peer": "llama-quantize from the llama-cpp-python 0.3.36 sdist (scripts/llama-cpp.sh)",
        "architecture": arch,
        "layerCount": field(source, f"{arch}.block_count"),
        "headCount": field(source, f"{arch}.attention.head_count"),
        "kvHeadCount": field(source, f"{arch}.attention.head_count_kv"),
        "expertCount": field(source, f"{arch}.expert_count", 0),
        "tensors": [{"name": n, "shape": s, "sourceType": t} for n, (t, s, _) in source_tensors.items()],
        "mixes": {},
    }

    for mix in args.mixes:
        out = os.path.join(args.out_dir, f"{mix}.gguf")
        if not os.path.exists(out):
            print(f"llama-quantize {mix}", file=sys.stderr)
            subprocess.run([args.quantize, "--allow-requantize", args.source, out + ".tmp", mix],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.replace(out + ".tmp", out)
        quantized = tensors(gguf.GGUFReader(out))
        assert quantized.keys() == source_tensors.keys(), f"{mix}: tensor names differ from the source"
        names = list(source_tensors)
        fixture["mixes"][mix] = {
            "types": [quantized[n][0] for n in names],
            "totalTensorBytes": sum(quantized[n][2] for n in names),
            "fileBytes": os.path.getsize(out),
        }

    os.makedirs(os.path.dirname(os.path.abspath(args.fixture)), exist_ok=True)
    with open(args.fixture, "w") as f:
        f.write(compact_json(fixture) + "\n")


if __name__ == "__main__":
    main()
