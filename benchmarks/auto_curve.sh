#!/usr/bin/env bash
# Perplexity against bits for the calibrated auto profile: one job per budget (`coordinator start --profile
# gptq-auto --target-bpw X --calibration TEXT`), each scored by `uqcit validate` on the model's eval text
# (eval.txt beside it). Writes WORK/curve.tsv: target, bits per weight of the quantized tensors counted from the
# package's bytes, perplexity, mean KL against the source and its standard error, job seconds.
#
#   benchmarks/auto_curve.sh MODEL CALIBRATION_TEXT WORK [TARGET...]     (default targets: 2.5 3.0 3.5 4.0 4.5)
#   e.g. benchmarks/auto_curve.sh ../shared/models/tiny-llama-bytes out/calib/tiny.txt out/calib/auto-tiny
# Environment: PROFILE (default gptq-auto), CALIBRATION_TOKENS, MAX_WINDOWS, BIN (where coordinator and uqcit are).
set -euo pipefail
model=$1 calibration=$2 work=$3; shift 3
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(2.5 3.0 3.5 4.0 4.5)
bin=${BIN:-.build/debug}
profile=${PROFILE:-gptq-auto}
tokens=(); [ -z "${CALIBRATION_TOKENS:-}" ] || tokens=(--calibration-tokens "$CALIBRATION_TOKENS")
windows=(); [ -z "${MAX_WINDOWS:-}" ] || windows=(--max-windows "$MAX_WINDOWS")
mkdir -p "$work"
curve=$work/curve.tsv
printf 'target\tbpw_quantized\tperplexity\tmean_kl\tkl_standard_error\tjob_s\n' > "$curve"
for target in "${targets[@]}"; do
  out=$work/auto-$target
  rm -rf "$out"
  t0=$(date +%s.%N)
  "$bin/coordinator" start --model "$model" --profile "$profile" --target-bpw "$target" --calibration "$calibration" "${tokens[@]}" \
    --out "$out" --quiet > "$out.job.log" 2>&1
  seconds=$(python3 -c "print($(date +%s.%N) - $t0)")
  "$bin/uqcit" validate "$out" --reference "$model" "${windows[@]}" --json > "$out.validate.json" 2> "$out.validate.log"
  python3 - "$out.validate.json" "$target" "$seconds" >> "$curve" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["perplexity"]["causal"]["result"]
print("\t".join([sys.argv[2], "%.3f" % d["benchmarks"]["bitsPerWeightQuantizedTensors"], "%.4f" % r["perplexity"],
                 "%.5f" % r["reference"]["meanKL"], "%.5f" % r["reference"]["klStandardError"], "%.1f" % float(sys.argv[3])]))
PY
  tail -n 1 "$curve"
done
