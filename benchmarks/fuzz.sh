#!/usr/bin/env bash
# Fuzzes one FuzzTarget (safetensors, envelope, journal, package, gguf, sentencepiece) or all of them with libFuzzer for N
# executions each (default 1,000,000; at most SECONDS each when given), starting from a seed corpus, and prints
# executions, exec/s, wall seconds and crashes per target. Seeds are Tests/FuzzCorpus/<target> (scripts/fuzz_corpus.py
# writes them); crash inputs land in out/fuzz/<target>/crashes/, the corpus libFuzzer grows in out/fuzz/<target>/corpus/.
# The binary is built with -sanitize=fuzzer,address in .build-fuzz, apart from the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: benchmarks/fuzz.sh TARGET|all [N [SECONDS]]}
runs=${2:-1000000}
seconds=${3:-0}  # a cap on each target's run, 0 for none: the report then says how far N it got
targets=(safetensors envelope journal package gguf sentencepiece)
[[ $target == all ]] || targets=("$target")

# Debug: on two shared cores the sanitized release build of every dependency costs more than it saves.
UQCIT_FUZZ=1 swift build --product Fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address >&2
binary=.build-fuzz/debug/Fuzz

printf '%-12s %12s %10s %10s %8s\n' target executions exec/s seconds crashes
for t in "${targets[@]}"; do
    dir=out/fuzz/$t
    mkdir -p "$dir/corpus" "$dir/crashes"
    cp -n Tests/FuzzCorpus/"$t"/* "$dir/corpus/" 2>/dev/null || true
    start=$(date +%s.%N)
    # libFuzzer stops at the first crash and saves its input under crashes/; the log says where it trapped.
    # Leak checks are off, in libFuzzer and in ASan at exit: Foundation's FileManager.contents leaks its buffer for an
    # empty file.
    ASAN_OPTIONS=detect_leaks=0 FUZZ_TARGET=$t "$binary" "$dir/corpus" -runs="$runs" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=10 -detect_leaks=0 \
        -artifact_prefix="$dir/crashes/" -print_final_stats=1 >"$dir/log.txt" 2>&1 || true
    end=$(date +%s.%N)
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$' | tail -1)
    crashes=$(find "$dir/crashes" -type f | wc -l)
    printf '%-12s %12s %10s %10.1f %8s\n' "$t" "${executions:-?}" "${rate:-?}" "$(echo "$end - $start" | bc)" "$crashes"
done
