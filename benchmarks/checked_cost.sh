#!/usr/bin/env bash
# What bounds and overflow checks would cost inside the numeric kernels (the Kernels target: block formats, group
# quantizers, rotations), the one target built -Ounchecked: builds it with -O (checked, UQCIT_CHECKED=1, scratch
# path .build-checked) beside the normal build, then prints `uqcit bench` per step for both and the ratio
# checked/unchecked (weights per second; above 1.0 means the checked build is faster), and the CPU seconds of one
# tiny-llama job in each build. Engine, Runtime and Validation, which read files and peers' bytes, are -O in both.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${MODEL:-../shared/models/tiny-llama-bytes}
swift build --product uqcit >&2 && swift build --product coordinator >&2
UQCIT_CHECKED=1 swift build --scratch-path .build-checked --product uqcit >&2
UQCIT_CHECKED=1 swift build --scratch-path .build-checked --product coordinator >&2
out=out/checked-cost
mkdir -p "$out"
.build/debug/uqcit bench --json >"$out/unchecked.json"
.build-checked/debug/uqcit bench --json >"$out/checked.json"
python3 - "$out/unchecked.json" "$out/checked.json" <<'PY'
import json, sys
a = {r["name"]: r for r in json.load(open(sys.argv[1]))}
b = {r["name"]: r for r in json.load(open(sys.argv[2]))}
print(f"{'step':44} {'unchecked Mw/s':>15} {'checked Mw/s':>13} {'checked/unchecked':>18}")
for name, r in a.items():
    u, c = r["weightsPerSecond"] / 1e6, b[name]["weightsPerSecond"] / 1e6
    print(f"{name:44} {u:15.1f} {c:13.1f} {c / u:18.3f}")
PY
for build in .build .build-checked; do
    rm -rf "$out/job"
    /usr/bin/time -f "$build: tiny-llama uqcit profile, 1 worker: %U s user + %S s system, %e s wall" \
        "$build/debug/coordinator" start --model "$model" --out "$out/job" --workers 1 --quiet >/dev/null
done
