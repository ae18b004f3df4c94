#!/usr/bin/env python3
"""llm-compressor GPTQ on SmolLM2-135M-Instruct (CPU), with a shared perplexity evaluator.

What it does
------------
1. Loads SmolLM2-135M-Instruct from the project's test GGUF
   (../shared/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf) with transformers
   (`from_pretrained(dir, gguf_file=..., dtype=float32)`; transformers dequantizes the
   Q4_1/Q8_0 tensors to float32). The tokenizer is built from the same GGUF.
2. Runs llm-compressor GPTQ (`oneshot` + `GPTQModifier`) on CPU, int symmetric, group
   `--group-size` (default 64, see below), for 4 and 3 bits (explicit QuantizationScheme,
   type int, strategy group); targets = every Linear, ignore = lm_head (tied to the embedding
   anyway), dampening_frac = 0.01, actorder = "static" (llm-compressor 0.14's default; "group"
   is also accepted, `--actorder`), block_size 128.
   Calibration: the project's calibration text (`scripts/calibration_text.py smollm2`,
   131,072 bytes of Python's language reference, disjoint from eval.txt) tokenized without
   special tokens, first 16,384 tokens cut into 32 sequences of 512 tokens, passed to
   `oneshot` as a `datasets.Dataset` of input_ids/attention_mask (num_calibration_samples=32,
   max_seq_length=512, shuffle_calibration_samples=False).
   Each result is saved with `save_pretrained(..., save_compressed=True)` (pack-quantized
   format) to out/llmc/w{bits}g{group}; GPTQ wall seconds (the `oneshot` call) are recorded.

   Why group 64, not 128: SmolLM2's in_features are 576 (q/k/v/o/gate/up) and 1536 (down);
   576 is not a multiple of 128. By default llm-compressor 0.14.0.1 refuses this at
   initialize (modifiers/quantization/group_size_validation.py, read in the source, not run);
   with
   `bypass_divisibility_checks=True` compressed-tensors 0.20.1 initializes ceil(576/128) = 5
   scales per row (warning from `strategy_cdiv`), but GPTQ then dies after calibrating the
   first layer, in the weight observer:
     GPTQModifier.on_sequential_epoch_end -> calibration.observe -> observers/base.py forward
     -> observers/helpers.py `_flatten_weight`: value.unflatten(-1, (-1, group_size))
     RuntimeError: unflatten: Provided sizes [-1, 128] don't multiply up to the size of
     dim 1 (576) in the input tensor
   i.e. llm-compressor has no ragged-last-group support for GROUP (only for BLOCK). 64
   divides both widths (9 and 24 groups per row). `--group-size 128` reproduces the failure.

   Two workarounds inside the script, both for the GGUF-loaded source:
   - oneshot's validate_model re-reads AutoConfig from model.config.name_or_path, i.e. the
     GGUF's folder, which has no config.json ("Unrecognized model ... Should have a
     `model_type` key"): the in-memory config is saved to out/llmc/source-config and
     name_or_path pointed there.
   - transformers marks a GGUF-loaded model as quantized (GgufConfig, GgufHfQuantizer) although
     its Linear weights are plain float32, and oneshot refuses it ("oneshot does not currently
     support models that are already quantized in a different format (gguf)"): the marker is
     dropped before oneshot.
3. Perplexity, identical for every model: eval.txt tokenized by the GGUF's tokenizer without
   special tokens, non-overlapping 512-token windows, the first 24 windows (12,288 tokens);
   in each window positions 0..510 predict tokens 1..511 (the first token is context only,
   511 scored tokens per window, 12,264 in all); ppl = exp(mean NLL), with the standard error
   of the mean NLL (sample std of per-token NLLs / sqrt(n)). Evaluated: the fp32 source, the
   in-memory llm-compressor model right after oneshot (fake-quantized forward) and the saved
   folder loaded back with transformers' compressed-tensors integration
   (`CompressedTensorsConfig(run_compressed=False)`: the packed int weights are decompressed
   to dense float32 Linear weights at load time).
4. Writes out/llmc/results.json and out/llmc/results.md.

`--evaluate DIR [DIR ...]` evaluates any Hugging Face folder (config.json + safetensors, e.g.
one written by `uqcit export PKG --format hf`, or a compressed-tensors folder) with the same
function and the GGUF's tokenizer, and adds the rows to the results (merged into an existing
results.json unless --fresh).

Measured (2026-11-30, 2 shared CPU cores, 2 threads, actorder static, group 64)
-------------------------------------------------------------------------------
    source fp32 (dequantized GGUF)   ppl  31.6953 (se of mean NLL 0.0301)
    llm-compressor GPTQ w4g64        ppl  40.0964 (+26.5%), 4.50 bpw, oneshot 590.9 s
    llm-compressor GPTQ w3g64        ppl 130.4899 (+311.7%), 3.50 bpw, oneshot 670.2 s
bpw counts every saved tensor of the 210 quantized linears: packed ints + float32 scales
(scales are float32 because the model is float32; bf16 scales would give 4.25/3.25).
The w4g64 model scored identically in memory right after oneshot (fake-quant forward) and
reloaded from disk; `--evaluate out/llmc/w3g64` reproduces the w3g64 number.

How to run
----------
llm-compressor 0.14.0.1 pins transformers<=5.17 and compressed-tensors==0.19.0; it was
installed with --no-deps next to transformers 5.24 / compressed-tensors 0.20.1 / torch 2.13 CPU,
in a venv with system site packages:
    python3 -m venv --system-site-packages .venv-llmc && . .venv-llmc/bin/activate
    pip install --no-deps llmcompressor==0.14.0.1
    pip install datasets accelerate nvidia-ml-py      # the missing runtime deps
    python3 scripts/calibration_text.py smollm2 /tmp/llmc/calib.txt
    python3 benchmarks/llmcompressor_gptq.py                    # source + w4g64 + w3g64
    python3 benchmarks/llmcompressor_gptq.py --no-source --bits w3   # one run, merged in
    python3 benchmarks/llmcompressor_gptq.py --evaluate out/hf/pkg1 out/hf/pkg2
(--evaluate alone needs only torch + transformers + gguf, plus compressed-tensors for
compressed-tensors folders.)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = str(REPO.parent / "shared" / "models" / "smollm2-135m")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EVAL_TEXT = f"{MODEL_DIR}/eval.txt"
WINDOW = 512
EVAL_WINDOWS = 24
CALIB_SEQS = 32
CALIB_LEN = 512

BITS = {"w4": 4, "w3": 3}


# ----------------------------------------------------------------------------- loading

def load_tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=GGUF_NAME)


def load_source():
    """The fp32 source model, dequantized from the GGUF by transformers."""
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(
        MODEL_DIR, gguf_file=GGUF_NAME, dtype=torch.float32)
    return model.eval()


def load_hf_folder(path: str):
    """Any HF folder; compressed-tensors checkpoints are decompressed to dense float32."""
    from transformers import AutoConfig, AutoModelForCausalLM
    kwargs = {"dtype": torch.float32}
    cfg = AutoConfig.from_pretrained(path)
    qcfg = getattr(cfg, "quantization_config", None)
    qmethod = (qcfg or {}).get("quant_method") if isinstance(qcfg, dict) else getattr(qcfg, "quant_method", None)
    if qmethod == "compressed-tensors":
        from transformers import CompressedTensorsConfig
        kwargs["quantization_config"] = CompressedTensorsConfig(run_compressed=False)
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    return model.eval()


# ----------------------------------------------------------------------------- perplexity

def eval_tokens(tok) -> torch.Tensor:
    text = Path(EVAL_TEXT).read_text(encoding="utf-8")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    need = WINDOW * EVAL_WINDOWS
    if len(ids) < need:
        raise SystemExit(f"eval text has {len(ids)} tokens, need {need}")
    return torch.tensor(ids[:need], dtype=torch.long).view(EVAL_WINDOWS, WINDOW)


@torch.no_grad()
def perplexity(model, windows: torch.Tensor) -> dict:
    """exp(mean NLL) over positions 1..511 of each window; se of the mean NLL."""
    nlls = []
    for w in windows:
        x = w.unsqueeze(0)
        logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits.float()
        nll = torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:], reduction="none")
        nlls.append(nll.double())
    nll = torch.cat(nlls)
    n = nll.numel()
    mean = nll.mean().item()
    se = (nll.std(unbiased=True) / math.sqrt(n)).item()
    return {"ppl": math.exp(mean), "mean_nll": mean, "se_nll": se,
            "ppl_lo": math.exp(mean - se), "ppl_hi": math.exp(mean + se), "tokens": n}


# ----------------------------------------------------------------------------- bits per weight

def bits_per_weight(folder: str) -> dict | None:
    """Count from the saved safetensors: all bytes stored for the quantized linears
    (weight_packed + weight_scale + weight_zero_point + weight_g_idx + weight_shape)
    over their weight count (from weight_shape)."""
    from safetensors import safe_open
    files = sorted(Path(folder).glob("*.safetensors"))
    tensors = {}
    for f in files:
        with safe_open(str(f), framework="pt") as sf:
            for k in sf.keys():
                tensors[k] = sf.get_tensor(k)
    prefixes = [k[: -len(".weight_packed")] for k in tensors if k.endswith(".weight_packed")]
    if not prefixes:
        return None
    n_weights = 0
    bytes_all = 0
    bytes_packed = 0
    for p in prefixes:
        shape = tensors[p + ".weight_shape"].tolist()
        n_weights += int(shape[0]) * int(shape[1])
        for suffix in ("weight_packed", "weight_scale", "weight_zero_point", "weight_g_idx", "weight_shape"):
            t = tensors.get(f"{p}.{suffix}")
            if t is not None:
                b = t.numel() * t.element_size()
                bytes_all += b
                if suffix == "weight_packed":
                    bytes_packed += b
    return {"quantized_linears": len(prefixes), "weights": n_weights,
            "bpw": 8 * bytes_all / n_weights, "bpw_packed_only": 8 * bytes_packed / n_weights}


# ----------------------------------------------------------------------------- GPTQ

def calibration_dataset(tok, calib_path: str):
    from datasets import Dataset
    if not Path(calib_path).exists():
        Path(calib_path).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(REPO / "scripts/calibration_text.py"), "smollm2", calib_path], check=True)
    text = Path(calib_path).read_text(encoding="utf-8")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    need = CALIB_SEQS * CALIB_LEN
    if len(ids) < need:
        raise SystemExit(f"calibration text has {len(ids)} tokens, need {need}")
    rows = [ids[i * CALIB_LEN:(i + 1) * CALIB_LEN] for i in range(CALIB_SEQS)]
    return Dataset.from_dict({"input_ids": rows, "attention_mask": [[1] * CALIB_LEN for _ in rows]})


def run_gptq(name: str, bits: int, group: int, tok, ds, out_dir: Path, actorder: str, windows,
             inmemory: bool = True) -> dict:
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
    from llmcompressor import oneshot
    from llmcompressor.modifiers.gptq import GPTQModifier

    model = load_source()
    # transformers marks a GGUF-loaded model as quantized (config.quantization_config =
    # GgufConfig, model.hf_quantizer = GgufHfQuantizer) although its Linear weights are plain
    # dequantized float32; oneshot refuses it ("oneshot does not currently support models that
    # are already quantized in a different format (gguf)"). Drop the marker.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model, "quantization_method"):
        model.quantization_method = None
    # oneshot's validate_model re-reads AutoConfig from model.config.name_or_path, which for a
    # GGUF-loaded model is the GGUF's folder (no config.json) -> "Unrecognized model". Point it
    # at a folder holding the in-memory config instead.
    cfg_dir = out_dir / "source-config"
    model.config.save_pretrained(str(cfg_dir))
    model.config._name_or_path = str(cfg_dir)
    scheme = QuantizationScheme(
        targets=["Linear"],
        weights=QuantizationArgs(num_bits=bits, type="int", symmetric=True, strategy="group",
                                 group_size=group, actorder=actorder),
    )
    recipe = GPTQModifier(config_groups={"group_0": scheme}, ignore=["lm_head"],
                          dampening_frac=0.01, block_size=128,
                          bypass_divisibility_checks=True)
    t0 = time.perf_counter()
    oneshot(model=model, processor=tok, dataset=ds, recipe=recipe,
            num_calibration_samples=CALIB_SEQS, max_seq_length=CALIB_LEN,
            shuffle_calibration_samples=False)
    gptq_s = time.perf_counter() - t0
    print(f"[{name}] GPTQ {gptq_s:.1f} s", flush=True)
    model.eval()
    inmem = None
    if inmemory:
        inmem = perplexity(model, windows)
        print(f"[{name}] in-memory (fake-quant) ppl {inmem['ppl']:.4f}", flush=True)
    folder = out_dir / name
    model.save_pretrained(str(folder), save_compressed=True)
    tok.save_pretrained(str(folder))
    del model
    return {"gptq_seconds": gptq_s, "inmemory": inmem, "folder": str(folder)}


# ----------------------------------------------------------------------------- report

def write_results(out_dir: Path, rows: list[dict], meta: dict):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    src = next((r for r in rows if r["model"] == "source (fp32, dequantized GGUF)"), None)
    lines = ["| model | bits/weight (quantized linears) | perplexity ± se | change vs source | GPTQ s |",
             "|---|---|---|---|---|"]
    for r in rows:
        p = r["eval"]
        pm = p["ppl"] * p["se_nll"]  # delta method: se(ppl) ~= ppl * se(mean NLL)
        bpw = r.get("bpw")
        bpw_s = f"{bpw['bpw']:.3f} ({bpw['bpw_packed_only']:.2f} packed)" if bpw else "–"
        ch = f"{100 * (p['ppl'] / src['eval']['ppl'] - 1):+.2f}%" if src and r is not src else "–"
        gs = f"{r['gptq_seconds']:.1f}" if r.get("gptq_seconds") is not None else "–"
        lines.append(f"| {r['model']} | {bpw_s} | {p['ppl']:.4f} ± {pm:.4f} | {ch} | {gs} |")
    lines += ["", f"Eval: {meta['eval']}", f"GPTQ: {meta.get('gptq', '–')}"]
    (out_dir / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(REPO / "out/llmc"))
    ap.add_argument("--calib", default="/tmp/llmc/calib.txt")
    ap.add_argument("--bits", nargs="*", default=list(BITS), choices=list(BITS))
    ap.add_argument("--group-size", type=int, default=64,
                    help="64 by default: llm-compressor 0.14 cannot do 128 on SmolLM2's 576-wide rows (see docstring)")
    ap.add_argument("--actorder", default="static", choices=["static", "group", "none"])
    ap.add_argument("--evaluate", nargs="+", metavar="DIR",
                    help="only evaluate these HF folders (plus the source unless --no-source)")
    ap.add_argument("--no-source", action="store_true", help="skip evaluating the fp32 source")
    ap.add_argument("--fresh", action="store_true", help="do not merge into an existing results.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-inmemory", action="store_true",
                    help="skip the check-evaluation of the in-memory model right after oneshot")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out)

    tok = load_tokenizer()
    windows = eval_tokens(tok)
    meta = {"eval": f"{EVAL_TEXT}, {EVAL_WINDOWS} non-overlapping windows of {WINDOW} tokens, "
                    f"first token of each context only ({windows.shape[0] * (WINDOW - 1)} scored tokens)",
            "torch": torch.__version__}
    import transformers
    meta["transformers"] = transformers.__version__

    rows: list[dict] = []
    old = out_dir / "results.json"
    if not args.fresh and old.exists():
        prev = json.loads(old.read_text())
        rows = prev.get("rows", [])
        meta = {**prev.get("meta", {}), **meta}

    def put(row):
        nonlocal rows
        rows = [r for r in rows if r["model"] != row["model"]] + [row]

    if not args.no_source:
        t0 = time.perf_counter()
        p = perplexity(load_source(), windows)
        print(f"[source] ppl {p['ppl']:.4f} ± se(nll) {p['se_nll']:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
        put({"model": "source (fp32, dequantized GGUF)", "eval": p})
        write_results(out_dir, rows, meta)

    if args.evaluate:
        for d in args.evaluate:
            p = perplexity(load_hf_folder(d), windows)
            print(f"[{d}] ppl {p['ppl']:.4f}", flush=True)
            put({"model": str(d), "eval": p, "bpw": bits_per_weight(d)})
    else:
        import llmcompressor
        meta["llmcompressor"] = llmcompressor.__version__
        import compressed_tensors
        meta["compressed_tensors"] = compressed_tensors.__version__
        meta["gptq"] = (f"llm-compressor {llmcompressor.__version__} oneshot GPTQModifier, int sym group {args.group_size}, "
                        f"ignore lm_head, dampening 0.01, actorder {args.actorder}, block 128, "
                        f"{CALIB_SEQS}x{CALIB_LEN} calibration tokens from {args.calib}, CPU, {args.threads} threads")
        ds = calibration_dataset(tok, args.calib)
        actorder = None if args.actorder == "none" else args.actorder
        for b in args.bits:
            name = f"{b}g{args.group_size}"
            r = run_gptq(name, BITS[b], args.group_size, tok, ds, out_dir, actorder, windows,
                         inmemory=not args.no_inmemory)
            p = perplexity(load_hf_folder(r["folder"]), windows)
            print(f"[{name}] reloaded ppl {p['ppl']:.4f}", flush=True)
            put({"model": f"llm-compressor GPTQ {name}", "eval": p, "eval_inmemory": r["inmemory"],
                 "gptq_seconds": r["gptq_seconds"], "folder": r["folder"], "bpw": bits_per_weight(r["folder"])})
            write_results(out_dir, rows, meta)
    write_results(out_dir, rows, meta)


if __name__ == "__main__":
    main()
