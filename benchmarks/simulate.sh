#!/usr/bin/env bash
# Frontier scale, simulated: whole synthetic:deepseek-v3 and synthetic:llama-3.1-405b jobs through the real
# coordinator with N simulated workers (`coordinator simulate`, see README). Per model: a full run under
# /usr/bin/time -v (wall, CPU, peak RSS, broker messages/s, journal bytes); a SIGKILL at 50% and the restart
# (no finished task runs again, the accounting equals the full run's); a SIGKILL at 90% and the time the
# restart takes to resume; 10% of the workers silenced at once. Then, on the first model, the tail with 5% of
# the workers 10x slower, without and with backup tasks.
# Usage: benchmarks/simulate.sh [MODEL...]   (default: llama-3.1-405b deepseek-v3)
# Env: WORKERS (1000), TIME_FACTOR (0.5), MPARAMS (20 M params/s per worker), KILL_AT (seconds, 20),
#      SWIFT_BIN (.build/debug), WORK (a temporary folder, removed at the end unless KEEP=1).
# Prints one JSON line per run on stdout (the simulate summary plus the run's label and /usr/bin/time figures).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SWIFT_BIN:-$ROOT/.build/debug}
WORKERS=${WORKERS:-1000}
TIME_FACTOR=${TIME_FACTOR:-0.5}
MPARAMS=${MPARAMS:-20}
KILL_AT=${KILL_AT:-20}
WORK=${WORK:-$(mktemp -d /tmp/uqcit-simulate.XXXXXX)}
mkdir -p "$WORK"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
MODELS=("$@"); [ ${#MODELS[@]} -gt 0 ] || MODELS=(llama-3.1-405b deepseek-v3)

# run LABEL OUT [simulate options...]: one simulate run under /usr/bin/time -v; its summary and times as one JSON line.
run() {
    local label=$1 out=$2; shift 2
    /usr/bin/time -v -o "$WORK/$label.time" "$BIN/coordinator" simulate --workers "$WORKERS" --out "$out" \
        --mparams-per-second "$MPARAMS" --time-factor "$TIME_FACTOR" --quiet --json "$@" > "$WORK/$label.json" 2> "$WORK/$label.log"
    local rc=$?
    python3 - "$label" "$WORK/$label.json" "$WORK/$label.time" "$rc" <<'PY'
import json, sys
label, summary, timefile, rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = {}
for line in open(timefile):
    k, _, v = line.strip().rpartition(": ")
    t[k] = v
def secs(s):
    parts = [float(p) for p in s.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
row = {"run": label, "exit": rc, "wall_s": secs(t.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0")),
       "user_s": float(t.get("User time (seconds)", 0)), "sys_s": float(t.get("System time (seconds)", 0)),
       "max_rss_kb": int(t.get("Maximum resident set size (kbytes)", 0))}
try:
    s = json.load(open(summary))
    package = s.pop("package")
    row.update(s)
    row["package_bytes"], row["package_sha256"] = package["bytes"], package["sha256"]
except (OSError, ValueError, KeyError):
    pass   # a run the script SIGKILLed on purpose (--crash-at) prints no summary
print(json.dumps(row), flush=True)
PY
}

# status OUT: tasks, unique tasks done and DONE records in the journal, and the time `coordinator status` takes.
status() {
    local start=$(date +%s.%N)
    "$BIN/coordinator" status --out "$1" --json > "$WORK/status.json"
    python3 -c "import json,sys; s=json.load(open('$WORK/status.json')); print(json.dumps({'status_of': sys.argv[1], 'seconds': round($(date +%s.%N) - $start, 3), 'tasks': s['tasks'], 'done': s['done'], 'doneRecords': s['doneRecords'], 'complete': s['complete']}))" "$1"
}

for m in "${MODELS[@]}"; do
    run "$m-full" "$WORK/$m-full" --model "synthetic:$m"
    status "$WORK/$m-full"
    run "$m-crash50" "$WORK/$m-crash50" --model "synthetic:$m" --crash-at 0.5
    run "$m-crash50-restart" "$WORK/$m-crash50" --model "synthetic:$m"
    status "$WORK/$m-crash50"
    run "$m-crash90" "$WORK/$m-crash90" --model "synthetic:$m" --crash-at 0.9
    run "$m-crash90-restart" "$WORK/$m-crash90" --model "synthetic:$m"
    run "$m-kill10" "$WORK/$m-kill10" --model "synthetic:$m" --kill-fraction 0.1 --at "$KILL_AT"
    rm -rf "$WORK/$m-full" "$WORK/$m-crash50" "$WORK/$m-crash90" "$WORK/$m-kill10"
done
m=${MODELS[0]}
run "$m-slow" "$WORK/$m-slow" --model "synthetic:$m" --slow-fraction 0.05 --slowdown 10
run "$m-slow-backups" "$WORK/$m-slow-backups" --model "synthetic:$m" --slow-fraction 0.05 --slowdown 10 --backup-tasks
