#!/usr/bin/env bash
# Throughput per core of GGUF quantization, ours against llama-quantize, on the same tensors in the same run:
# SmolLM2-135M-Instruct's Q4_1 GGUF requantized to each mix with one thread (llama-quantize ... 1) and with one
# embedded worker (coordinator start --workers 1, then uqcit export --format gguf). CPU seconds (user + system)
# from /usr/bin/time, since this machine's wall clock is shared, each the least of REPEAT rounds (default 3), and
# for ours against the peer also the median of the rounds' own ratios.
# "llama codes" is the same job with `ggml_codes: reference`: our pipeline around llama.cpp's own quantizer.
# "no AVX2" is the first job again with UQCIT_NO_AVX2=1 (the Swift loops instead of KernelsAVX2's); its file must
# be byte-identical to the first's, which is checked. Needs scripts/llama-cpp.sh and a build.
# Usage: benchmarks/gguf_throughput.sh [MIX ...]   (default: Q4_0 Q4_K_M)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=${SRC:-$ROOT/../shared/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}
BIN=$ROOT/out/peers/bin
# llama-quantize is built Release by scripts/llama-cpp.sh; ours should be too (`swift build -c release`: whole-module
# optimisation inlines across files, which the debug build does not), else the debug build is used.
DEFAULT_BIN=$ROOT/.build/release; [[ -x $DEFAULT_BIN/coordinator && -x $DEFAULT_BIN/uqcit ]] || DEFAULT_BIN=$ROOT/.build/debug
SWIFT_BIN=${SWIFT_BIN:-$DEFAULT_BIN}
WORK=$ROOT/out/bench/throughput
mkdir -p "$WORK"
MIXES=("$@"); [[ ${#MIXES[@]} -gt 0 ]] || MIXES=(Q4_0 Q4_K_M)
PARAMS=$(python3 -c "import gguf,sys; print(sum(int(t.n_elements) for t in gguf.GGUFReader(sys.argv[1]).tensors))" "$SRC")

REPEAT=${REPEAT:-3}

cpu() { # command... -> CPU seconds on stdout, the command's output in $WORK/last.log
    /usr/bin/time -f "%U %S" -o "$WORK/time" "$@" > "$WORK/last.log" 2>&1
    awk '{print $1 + $2}' "$WORK/time"
}

least() { # a b -> the smaller: the shared machine only ever adds time
    python3 -c "print(min($1, ${2:-$1}))"
}

ours() { # mix profile tag [env assignment] -> CPU seconds of compress + export
    rm -rf "$WORK/pkg-$1-$3" "$WORK/ours-$1-$3.gguf"
    local compress export
    compress=$(cpu env ${4:-} "$SWIFT_BIN/coordinator" start --model "$SRC" --profile "$2" --out "$WORK/pkg-$1-$3" --workers 1)
    export=$(cpu env ${4:-} "$SWIFT_BIN/uqcit" export "$WORK/pkg-$1-$3" --format gguf --out "$WORK/ours-$1-$3.gguf")
    python3 -c "print($compress + $export)"
}

printf "%-8s %12s %12s %12s %12s %14s %14s %14s %10s %10s %10s %10s\n" mix "peer cpu s" "ours cpu s" "llama codes" "no AVX2" \
    "peer Mw/cpu-s" "ours Mw/cpu-s" "llama codes" "ours/peer" "llama codes/peer" "no AVX2/peer" "round median"
for mix in "${MIXES[@]}"; do
    profile=$ROOT/cluster-config/profiles/gguf-${mix,,}.yaml
    printf 'inherits: %s\nname: %s-llama-codes\nggml_codes: reference\n' "$profile" "gguf-${mix,,}" > "$WORK/reference-$mix.yaml"
    peer="" search="" reference="" swift_loops="" rounds=""
    # Rounds of all four jobs rather than each job's runs in a row, so that every side meets the same spells of
    # a busy host (this VM's system time varies by a factor of two from run to run).
    for _ in $(seq "$REPEAT"); do
        rm -f "$WORK/peer-$mix.gguf"
        peer_round=$(cpu "$BIN/llama-quantize" --allow-requantize "$SRC" "$WORK/peer-$mix.gguf" "$mix" 1)
        ours_round=$(ours "$mix" "$profile" search)
        # Each round's own ratio too: the two ran one after the other, so they met the same spell of the host.
        rounds+="$peer_round / $ours_round, "
        peer=$(least "$peer_round" "$peer")
        search=$(least "$ours_round" "$search")
        reference=$(least "$(ours "$mix" "$WORK/reference-$mix.yaml" reference)" "$reference")
        swift_loops=$(least "$(ours "$mix" "$profile" no-avx2 UQCIT_NO_AVX2=1)" "$swift_loops")
    done
    cmp -s "$WORK/ours-$mix-search.gguf" "$WORK/ours-$mix-no-avx2.gguf" || { echo "$mix: the file without AVX2 differs" >&2; exit 1; }
    python3 -c "
import statistics
p, o, r, w, n, m = $peer, $search, $reference, $swift_loops, $PARAMS, statistics.median([$rounds])
print(f'{\"$mix\":8s} {p:12.2f} {o:12.2f} {r:12.2f} {w:12.2f} {n / p / 1e6:14.1f} {n / o / 1e6:14.1f} {n / r / 1e6:14.1f} {p / o:9.2f}x {p / r:9.2f}x {p / w:9.2f}x {m:9.2f}x')"
done
echo "($PARAMS parameters; 'ours/peer' above 1 means ours is faster per CPU second; the ratios are of each side's least" \
    "over the rounds, 'round median' the median of each round's own ours/peer)"
