#!/usr/bin/env python3
"""Our GGUF files against llama-quantize's, from the same source at the same mix: tensor bytes and perplexity
measured by llama.cpp's own llama-perplexity (512-token windows, 2 threads) over the whole eval text: 62 windows of
SmolLM2's eval.txt, 512 of tiny-llama's (`--windows N` takes the first N instead, as earlier runs did: 24 and 128).

Sources: SmolLM2-135M-Instruct (its Q4_1 GGUF; llama-quantize needs --allow-requantize) on its eval.txt, and
tiny-llama-bytes (ours from the HF folder; the peer's from the same bf16 weights as F32 GGUF, made by
scripts/tiny_llama_to_gguf.py) on its eval.txt, whose byte vocabulary makes llama.cpp's tokens its bytes.
Needs scripts/llama-cpp.sh and a built tree (swift build). Writes out/bench/gguf-vs-llama-quantize{,-imatrix}.{json,md}.

With --imatrix both sides get the same importance matrix: llama-imatrix (llama.cpp's own) computes it on the peer's
source from a calibration text disjoint from the eval text (scripts/calibration_text.py: training-domain Python for
tiny-llama, Python's language reference for SmolLM2), then `llama-quantize --imatrix` and our
`coordinator start --imatrix` use that one file. The rows then also show llama-quantize without it.

With --calibrated each side calibrates its own way on that same text and token budget: llama-quantize with the
llama-imatrix matrix, ours with `coordinator start --calibration` (GPTQ inside the ggml grids, H captured layer by
layer through our quantized blocks). The rows again show llama-quantize without its matrix.

With --auto ours is `--profile gguf-auto --target-bpw B`, B the peer file's bits per weight over its tensors: the
types chosen per tensor (not the mix's rules) within the same bytes, data-free but for the sensitivity pass, which
scores 8 windows of that same calibration text (`--sensitivity-text`; 4,096 tokens, disjoint from the eval text).
Since that reads text, the rows show llama-quantize both with the llama-imatrix matrix and without it.
--auto --calibrated: ours gguf-auto with --calibration (each type scored by GPTQ's output error through H) at the
bytes of llama-quantize's file made with the matrix.

  python3 benchmarks/gguf_vs_llama_quantize.py [--mixes Q4_K_M,IQ4_XS,Q3_K_M,Q2_K] [--models smollm2,tiny-llama] [--imatrix | --calibrated] [--auto]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "models")
BIN = os.path.join(ROOT, "out", "peers", "bin")
SWIFT_BIN = os.environ.get("SWIFT_BIN", os.path.join(ROOT, ".build", "debug"))
OUT = os.path.join(ROOT, "out", "bench")

MODELS = {
    "smollm2": {"ours_source": os.path.join(SHARED, "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf"),
                "peer_source": os.path.join(SHARED, "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf"),
                "eval": os.path.join(SHARED, "smollm2-135m", "eval.txt"), "requantize": True, "imatrix_chunks": 32},
    "tiny-llama": {"ours_source": os.path.join(SHARED, "tiny-llama-bytes"),
                   "peer_source": os.path.join(ROOT, "out", "peers", "tiny-llama", "F32.gguf"),
                   "eval": os.path.join(SHARED, "tiny-llama-bytes", "eval.txt"), "requantize": False, "imatrix_chunks": 128},
}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def tensor_bytes(path):
    return sum(int(t.n_bytes) for t in gguf.GGUFReader(path).tensors)


def parameters(path):
    return sum(int(t.n_elements) for t in gguf.GGUFReader(path).tensors)


def perplexity(model, text, chunks, work):
    """`chunks`: the first that many windows of 512, or None for the whole text."""
    # Into a file, not a pipe: llama.cpp's logger thread can lose its last lines (the estimate) on a pipe at exit.
    # A log newer than its model is that model's measurement: reused. Logs stay in `work`, never beside a source.
    log = os.path.join(work, os.path.basename(model) + f".{chunks or 'all'}.perplexity.log")
    if not (os.path.exists(log) and os.path.getmtime(log) > os.path.getmtime(model) and "Final estimate" in open(log).read()):
        with open(log, "w") as f:
            subprocess.run([os.path.join(BIN, "llama-perplexity"), "-m", model, "-f", text, "-c", "512", "-t", "2", "-b", "512"]
                           + (["--chunks", str(chunks)] if chunks else []), stdout=f, stderr=subprocess.STDOUT, check=True)
    printed = open(log).read()
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", printed)
    if not m:
        raise RuntimeError(f"llama-perplexity printed no estimate for {model}: see {log}")
    return float(m.group(1)), float(m.group(2)), int(re.search(r"over ([0-9]+) chunks", printed).group(1))


def importance_matrix(model, spec, work):
    """llama-imatrix's matrix for the peer's source, from the model's calibration text (512-token chunks)."""
    text, out = os.path.join(work, "calibration.txt"), os.path.join(work, "imatrix.gguf")
    if not os.path.exists(out):
        run([sys.executable, os.path.join(ROOT, "scripts", "calibration_text.py"), model, text])
        run([os.path.join(BIN, "llama-imatrix"), "-m", spec["peer_source"], "-f", text, "-o", out, "-c", "512", "-t", "2",
             "--chunks", str(spec["imatrix_chunks"])])
    return out


def ours(model, mix, spec, work, imatrix, calibrated=False, auto_bpw=None):
    """Made afresh every run: unlike the peer's, our files change with the code. `auto_bpw`: gguf-auto at that
    target instead of the mix, its sensitivity scored on the calibration text."""
    tag = (f"{mix}-auto" if auto_bpw else mix) + ("-calibrated" if calibrated else "-imatrix" if imatrix and not auto_bpw else "")
    pkg, out = os.path.join(work, f"ours-{tag}"), os.path.join(work, f"ours-{tag}.gguf")
    subprocess.run(["rm", "-rf", pkg, out], check=True)
    profile = "gguf-" + mix.lower()
    if calibrated:
        weighting = ["--calibration", os.path.join(work, "calibration.txt"), "--calibration-tokens", str(512 * spec["imatrix_chunks"])]
    elif auto_bpw:
        weighting = ["--sensitivity-text", os.path.join(work, "calibration.txt")]
    else:
        weighting = ["--imatrix", imatrix] if imatrix else []
    if auto_bpw:
        profile = "gguf-auto"
        weighting += ["--target-bpw", f"{auto_bpw:.4f}"]
    run([os.path.join(SWIFT_BIN, "coordinator"), "start", "--model", spec["ours_source"], "--profile", profile,
         "--out", pkg, "--workers", "2"] + weighting)
    run([os.path.join(SWIFT_BIN, "uqcit"), "export", pkg, "--format", "gguf", "--out", out])
    return out


def peer(model, mix, spec, work, imatrix):
    out = os.path.join(work, f"llama-quantize-{mix}-imatrix.gguf" if imatrix else f"llama-quantize-{mix}.gguf")
    if not os.path.exists(out):
        cmd = [os.path.join(BIN, "llama-quantize")] + (["--allow-requantize"] if spec["requantize"] else [])
        run(cmd + (["--imatrix", imatrix] if imatrix else []) + [spec["peer_source"], out, mix])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mixes", default="Q4_K_M,IQ4_XS,Q3_K_M,Q2_K")
    ap.add_argument("--models", default="smollm2,tiny-llama")
    ap.add_argument("--imatrix", action="store_true", help="both sides weighted by the same llama-imatrix matrix")
    ap.add_argument("--windows", type=int, help="the first N windows of 512 of each eval text (default: all of it)")
    ap.add_argument("--calibrated", action="store_true",
                    help="llama-quantize with llama-imatrix's matrix, ours with --calibration on the same text and tokens")
    ap.add_argument("--auto", action="store_true",
                    help="ours gguf-auto at the peer file's bits per weight, sensitivity on the calibration text")
    args = ap.parse_args()
    if args.auto and args.imatrix:
        ap.error("--auto compares gguf-auto with llama-quantize without its matrix and shows the one with it; --auto --calibrated gives both sides text")
    with_matrix = args.imatrix or args.calibrated
    args.imatrix = with_matrix or args.auto
    if not os.path.exists(MODELS["tiny-llama"]["peer_source"]):
        run([sys.executable, os.path.join(ROOT, "scripts", "tiny_llama_to_gguf.py")])
    results = []
    for model in args.models.split(","):
        spec = MODELS[model]
        work = os.path.join(OUT, model)
        os.makedirs(work, exist_ok=True)
        base, base_se, windows = perplexity(spec["peer_source"], spec["eval"], args.windows, work)
        print(f"{model}: source ppl {base:.4f} +/- {base_se:.4f}", file=sys.stderr)
        imatrix = importance_matrix(model, spec, work) if args.imatrix else None
        for mix in args.mixes.split(","):
            t0 = time.time()
            b = peer(model, mix, spec, work, imatrix if with_matrix else None)
            # Four decimals, rounded down, so that our file is never the larger.
            auto_bpw = int(8 * tensor_bytes(b) / parameters(b) * 1e4) / 1e4 if args.auto else None
            a = ours(model, mix, spec, work, imatrix if with_matrix else None, args.calibrated, auto_bpw)
            row = {"model": model, "mix": mix, "source_ppl": base, "parameters": parameters(b),
                   "ours_bytes": tensor_bytes(a), "peer_bytes": tensor_bytes(b)}
            row["ours_ppl"], row["ours_se"], _ = perplexity(a, spec["eval"], args.windows, work)
            row["peer_ppl"], row["peer_se"], _ = perplexity(b, spec["eval"], args.windows, work)
            if args.auto and not with_matrix:
                row["peer_imatrix_ppl"], row["peer_imatrix_se"], _ = perplexity(peer(model, mix, spec, work, imatrix), spec["eval"], args.windows, work)
            elif imatrix:
                row["peer_plain_ppl"], row["peer_plain_se"], _ = perplexity(peer(model, mix, spec, work, None), spec["eval"], args.windows, work)
            row["windows"] = windows
            row["bytes_ratio"] = row["ours_bytes"] / row["peer_bytes"]
            row["ours_bpw"] = 8 * row["ours_bytes"] / row["parameters"]
            row["peer_bpw"] = 8 * row["peer_bytes"] / row["parameters"]
            results.append(row)
            print(f"{model} {mix}: ours {row['ours_ppl']:.4f} ({row['ours_bpw']:.3f} bpw), llama-quantize {row['peer_ppl']:.4f} "
                  f"({row['peer_bpw']:.3f} bpw), {time.time() - t0:.0f} s", file=sys.stderr)
    name = "gguf-vs-llama-quantize" + ("-auto" if args.auto else "") + ("-calibrated" if args.calibrated else "-imatrix" if with_matrix else "")
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(results, f, indent=1)
    ours_how = ", ".join((["gguf-auto"] if args.auto else []) + (["GPTQ"] if args.calibrated else ["imatrix"] if with_matrix and not args.auto else []))
    peer_how = "imatrix" if with_matrix else "no imatrix" if args.auto else ""
    extra = " ppl llama-quantize with imatrix |" if args.auto and not with_matrix else " ppl llama-quantize without imatrix |" if with_matrix else ""
    lines = [f"| model | mix | bpw ours / llama-quantize | bytes ratio | ppl ours{f' ({ours_how})' if ours_how else ''} | "
             f"ppl llama-quantize{f' ({peer_how})' if peer_how else ''} | source ppl | "
             "change vs source ours / llama-quantize |" + extra,
             "|---|---|---|---|---|---|---|---|" + ("---|" if extra else "")]
    for r in results:
        lines.append(f"| {r['model']} ({r['windows']} windows) | {r['mix']} | {r['ours_bpw']:.3f} / {r['peer_bpw']:.3f} | {r['bytes_ratio']:.4f} | "
                     f"{r['ours_ppl']:.4f} ± {r['ours_se']:.4f} | {r['peer_ppl']:.4f} ± {r['peer_se']:.4f} | {r['source_ppl']:.4f} | "
                     f"{100 * (r['ours_ppl'] / r['source_ppl'] - 1):+.2f}% / {100 * (r['peer_ppl'] / r['source_ppl'] - 1):+.2f}% |"
                     + (f" {r['peer_imatrix_ppl']:.4f} ± {r['peer_imatrix_se']:.4f} |" if args.auto and not with_matrix
                        else f" {r['peer_plain_ppl']:.4f} ± {r['peer_plain_se']:.4f} |" if with_matrix else ""))
    open(os.path.join(OUT, name + ".md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
