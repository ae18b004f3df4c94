#!/usr/bin/env bash
# One gguf-auto file measured as llama.cpp serves it: the job, the GGUF export, bits per weight over the whole file
# with its tensors per type, and llama-perplexity over the whole eval text (512-token windows, as
# benchmarks/gguf_vs_llama_quantize.py scores the fixed mixes it is compared with).
# Usage: benchmarks/gguf_auto.sh MODEL EVAL.txt OUT TARGET_BPW [coordinator start options, e.g. --calibration FILE]
# Needs scripts/llama-cpp.sh and a build (BIN=.build/debug by default).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -ge 4 ]] || { echo "usage: $0 MODEL EVAL.txt OUT TARGET_BPW [coordinator start options]" >&2; exit 2; }
MODEL=$1 TEXT=$2 OUT=$3 TARGET=$4; shift 4
BIN=${BIN:-$ROOT/.build/debug}
rm -rf "$OUT" "$OUT.gguf"
"$BIN/coordinator" start --model "$MODEL" --profile gguf-auto --target-bpw "$TARGET" --out "$OUT" --workers 2 "$@" > "$OUT.log" 2>&1
"$BIN/uqcit" export "$OUT" --format gguf --out "$OUT.gguf" >> "$OUT.log" 2>&1
python3 - "$OUT.gguf" <<'EOF'
import collections, sys
import gguf
r = gguf.GGUFReader(sys.argv[1])
bits = sum(int(t.n_bytes) for t in r.tensors) * 8 / sum(int(t.n_elements) for t in r.tensors)
print(f"{sys.argv[1]}: {bits:.3f} bits per weight,", dict(collections.Counter(t.tensor_type.name for t in r.tensors)))
EOF
# Into a file: llama.cpp's logger can lose its last line (the estimate) at exit; one retry when it does.
for _ in 1 2; do
    "$ROOT/out/peers/bin/llama-perplexity" -m "$OUT.gguf" -f "$TEXT" -c 512 -t 2 -b 512 > "$OUT.perplexity.log" 2>&1
    grep -q "Final estimate" "$OUT.perplexity.log" && break
done
grep "Final estimate" "$OUT.perplexity.log"
