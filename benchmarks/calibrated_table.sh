#!/usr/bin/env bash
# The calibrated-quantization table: for one model, each row (data-free, importance-weighted by diag(H), GPTQ)
# at each width (int4 g128, int3 g128, int2 g64, GGUF Q3_K_M and Q2_K), bits per weight counted from the
# package's bytes and perplexity on the model's eval text (`uqcit validate`, eval.txt beside the model); for a
# BERT (int columns only) the mean cosine of its sentence embeddings to the source's instead.
# The GGUF columns have one more data-free row: llama.cpp's own codes (ggml_codes: reference).
# Each cell is a job and a validate; a cell already in WORK/table.tsv is skipped, so a rerun resumes.
#
#   benchmarks/calibrated_table.sh MODEL CALIBRATION_TEXT WORK [COLUMN...]
#   COLUMN: int4 int3 int2 q3_k_m q2_k (default: all)
#   e.g. benchmarks/calibrated_table.sh ../shared/models/tiny-llama-bytes out/calib/tiny.txt out/calib/tiny
#   (calibration text: scripts/calibration_text.py tiny-llama|smollm2 FILE, disjoint from eval.txt)
# Environment: CALIBRATION_TOKENS (--calibration-tokens; SmolLM2: 16384, the 32 chunks of 512 that
# gguf_vs_llama_quantize.py gives llama-imatrix), MAX_WINDOWS (validate --max-windows; SmolLM2: 24, as there),
# BIN (where coordinator and uqcit are), EVAL (validate --eval: another eval text, or a BERT's sentences, one a line).
set -euo pipefail
model=$1 calibration=$2 work=$3; shift 3
columns=("$@"); [ ${#columns[@]} -gt 0 ] || columns=(int4 int3 int2 q3_k_m q2_k)
bin=${BIN:-.build/debug}   # the numeric targets are optimised in a debug build too
[ -x "$bin/coordinator" ] || swift build --product coordinator
[ -x "$bin/uqcit" ] || swift build --product uqcit
mkdir -p "$work"
tokens=(); [ -z "${CALIBRATION_TOKENS:-}" ] || tokens=(--calibration-tokens "$CALIBRATION_TOKENS")
windows=(); [ -z "${MAX_WINDOWS:-}" ] || windows=(--max-windows "$MAX_WINDOWS")
[ -z "${EVAL:-}" ] || windows+=(--eval "$EVAL")
profiles=$(cd cluster-config/profiles && pwd)
table=$work/table.tsv
[ -f "$table" ] || printf 'column\trow\tbpw_quantized\tbpw_all\tmetric\tvalue\treference\tjob_s\n' > "$table"

# cell COLUMN ROW PROFILE_YAML [--calibration FILE]
cell() {
  local column=$1 row=$2 yaml=$3; shift 3
  grep -q "^$column	$row	" "$table" && return 0
  local out=$work/$column-$row
  rm -rf "$out"
  local t0=$(date +%s.%N)
  "$bin/coordinator" start --model "$model" --profile "$yaml" --out "$out" --quiet "$@" > "$out.job.log" 2>&1
  local seconds=$(python3 -c "print($(date +%s.%N) - $t0)")
  "$bin/uqcit" validate "$out" --reference "$model" "${windows[@]}" --json > "$out.validate.json" 2> "$out.validate.log"
  python3 - "$out.validate.json" "$column" "$row" "$seconds" >> "$table" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
q, b = d["perplexity"], d["benchmarks"]
if "causal" in q:
    r = q["causal"]["result"]
    metric = ["perplexity", "%.4f" % r["perplexity"], "%.4f" % r["reference"]["perplexity"]]
else:
    metric = ["mean_cosine", "%.4f" % q["embedding"]["meanCosine"], "1"]
print("\t".join([sys.argv[2], sys.argv[3], "%.3f" % b["bitsPerWeightQuantizedTensors"], "%.3f" % b["bitsPerWeightLayersFolder"]]
                + metric + ["%.1f" % float(sys.argv[4])]))
PY
  tail -n 1 "$table"
}

for column in "${columns[@]}"; do
  case $column in
    int4|int3|int2)
      cell "$column" data-free "$profiles/uniform-$column.yaml"
      cell "$column" importance "$profiles/importance-$column.yaml" --calibration "$calibration" "${tokens[@]}"
      cell "$column" gptq "$profiles/gptq-$column.yaml" --calibration "$calibration" "${tokens[@]}" ;;
    q3_k_m|q2_k)
      base=$profiles/gguf-$column.yaml
      printf 'inherits: %s\nname: gguf-%s-llama-codes\nggml_codes: reference\n' "$base" "$column" > "$work/$column-llama-codes.yaml"
      printf 'inherits: %s\nname: gguf-%s-importance\ncalibration: {sequence_length: 512, sequences: 128, shard_sequences: 8, damping: 0.01, block_size: 128, act_order: false, rounding: diagonal_importance}\n' \
        "$base" "$column" > "$work/$column-importance.yaml"
      cell "$column" llama-codes "$work/$column-llama-codes.yaml"
      cell "$column" data-free "$base"
      cell "$column" importance "$work/$column-importance.yaml" --calibration "$calibration" "${tokens[@]}"
      cell "$column" gptq "$base" --calibration "$calibration" "${tokens[@]}" ;;
    *) echo "unknown column $column (int4 int3 int2 q3_k_m q2_k)" >&2; exit 2 ;;
  esac
done
column -t -s "$(printf '\t')" "$table"
