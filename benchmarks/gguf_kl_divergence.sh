#!/usr/bin/env bash
# KL divergence of GGUF files' next-token distributions from their source's, by llama.cpp's own llama-perplexity:
# the source's logits over the whole eval text are saved once (--kl-divergence-base), then each file is scored
# against them. Perplexity differences between two quantizations of the same source are small next to
# llama-perplexity's standard error of each perplexity; KL against the source is paired token by token, so its
# standard error says whether two files differ at all. Needs scripts/llama-cpp.sh.
# Usage: benchmarks/gguf_kl_divergence.sh SOURCE.gguf EVAL.txt FILE.gguf...
# Prints per file: mean KL divergence +/- its standard error, and how often the top token is the source's.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/out/peers/bin
[[ $# -ge 3 ]] || { echo "usage: $0 SOURCE.gguf EVAL.txt FILE.gguf..." >&2; exit 2; }
SRC=$1 TEXT=$2; shift 2
WORK=$ROOT/out/bench/kl
mkdir -p "$WORK"
BASE=$WORK/$(basename "$SRC" .gguf).$(basename "$TEXT" .txt).logits
if [[ ! -s $BASE ]]; then
    "$BIN/llama-perplexity" -m "$SRC" -f "$TEXT" -c 512 -t 2 -b 512 --kl-divergence-base "$BASE" > "$WORK/base.log" 2>&1
fi
for f in "$@"; do
    log=$WORK/$(basename "$f" .gguf).kl.log
    "$BIN/llama-perplexity" -m "$f" --kl-divergence-base "$BASE" --kl-divergence -t 2 -b 512 > "$log" 2>&1
    # llama.cpp's logger thread can lose the last lines at exit: a missing line reads "n/a", not an abort.
    kl=$(grep -E "^Mean +KLD:" "$log" | awk '{print $3, $4, $5}' || true)
    top=$(grep -E "^Same top p:" "$log" | awk '{print $4, $5, $6}' || true)
    kl=${kl:-n/a} top=${top:-n/a}
    printf '%s\tKL %s\tsame top token %s %%\n' "$f" "$kl" "$top"
done
