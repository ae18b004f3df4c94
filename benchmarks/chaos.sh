#!/usr/bin/env bash
# Chaos: K tiny-llama jobs on a coordinator with two joined workers; at random times SIGKILL the coordinator or a
# random worker, start again whatever was killed, and check each finished package against the embedded run byte
# for byte. Then the disk-full case: --out on a small tmpfs fills up mid-job, the job stops with an error naming
# the folder, space is freed, the same command resumes, and the package is identical. Needs root (tmpfs).
# Usage: benchmarks/chaos.sh [K]   (default 50). Prints one line per run and a summary; exit 1 on any mismatch.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SWIFT_BIN:-$ROOT/.build/debug}
MODEL=${MODEL:-$ROOT/../shared/models/tiny-llama-bytes}
K=${1:-50}
WORK=$(mktemp -d /tmp/uqcit-chaos.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
export UQCIT_TEST_TASK_DELAY_MS=${UQCIT_TEST_TASK_DELAY_MS:-25}   # tasks last long enough for kills to land mid-job
trap 'pkill -P $$ 2>/dev/null; umount "$WORK/full" 2>/dev/null; rm -rf "$WORK"' EXIT

same() { diff -r -q -x .uqcit "$1" "$2" > /dev/null; }

UQCIT_TEST_TASK_DELAY_MS=0 "$BIN/coordinator" start --model "$MODEL" --out "$WORK/reference" --workers 2 --quiet > /dev/null || exit 1

# Started from this shell (not a command substitution), so `wait` can read their exit status.
start_coordinator() { "$BIN/coordinator" start --model "$MODEL" --out "$1" --workers 0 --bind "tcp://127.0.0.1:$PORT" --heartbeat-ms 200 \
                        --quiet >> "$WORK/coordinator.log" 2>&1 & c=$!; }
start_worker() { "$BIN/worker" join "127.0.0.1:$PORT" --threads 1 --heartbeat-ms 200 --max-reconnect-delay 1 --name "$2" \
                   >> "$WORK/worker.log" 2>&1 & eval "$1=\$!"; }

passed=0; failed=0; kills=0; start=$SECONDS
for run in $(seq 1 "$K"); do
    out="$WORK/run-$run"
    start_coordinator "$out"; start_worker w1 "w1-$run"; start_worker w2 "w2-$run"
    killed=""
    for round in 1 2 3; do
        sleep "$(python3 -c "import random; print(round(random.uniform(0.2, 1.5), 2))")"
        kill -0 "$c" 2>/dev/null || break
        case $((RANDOM % 3)) in
            0) kill -9 "$c"; wait "$c" 2>/dev/null; start_coordinator "$out"; killed+=" coordinator" ;;
            1) kill -9 "$w1"; wait "$w1" 2>/dev/null; start_worker w1 "w1-$run-$round"; killed+=" w1" ;;
            2) kill -9 "$w2"; wait "$w2" 2>/dev/null; start_worker w2 "w2-$run-$round"; killed+=" w2" ;;
        esac
        kills=$((kills + 1))
    done
    # No hand: wait for the job; a coordinator that dies on its own would leave the job unfinished and fail the run.
    # Bounded: a job still running after 120 s is killed and counted as failed.
    ( sleep 120; kill -9 "$c" "$w1" "$w2" 2> /dev/null ) & guard=$!
    wait "$c"; status=$?
    for w in $w1 $w2; do wait "$w"; done
    kill "$guard" 2> /dev/null; wait "$guard" 2> /dev/null
    if [[ $status == 0 ]] && same "$WORK/reference" "$out"; then passed=$((passed + 1)); verdict=identical
    else failed=$((failed + 1)); verdict="DIFFERENT (exit $status)"; fi
    echo "run $run: killed${killed:- nothing}; $verdict"
    rm -rf "$out"
done
echo "chaos: $K runs, $kills kills, $passed identical, $failed not, $((SECONDS - start)) s"

# Disk full: a 2 MiB tmpfs holds less than the package (about 2.4 MB) and its staging.
mkdir -p "$WORK/full" && mount -t tmpfs -o size=2m tmpfs "$WORK/full" || { echo "disk-full: needs root for tmpfs"; exit $((failed > 0)); }
out="$WORK/full/package"
"$BIN/coordinator" start --model "$MODEL" --out "$out" --workers 2 --quiet > /dev/null 2> "$WORK/full.err"; first=$?
echo "disk-full: first run exit $first: $(grep -m1 -i 'error' "$WORK/full.err")"
mount -o remount,size=64m "$WORK/full"
"$BIN/coordinator" start --model "$MODEL" --out "$out" --workers 2 --quiet > /dev/null 2> "$WORK/full2.err"; second=$?
if [[ $first != 0 && $second == 0 ]] && same "$WORK/reference" "$out"; then echo "disk-full: resumed after space was freed, package identical"
else echo "disk-full: FAILED (first exit $first, second exit $second)"; failed=$((failed + 1)); fi
exit $((failed > 0))
