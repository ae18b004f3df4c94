#!/usr/bin/env python3
"""Peak resident memory of one worker per task kind, through a whole calibrated job: a coordinator with no
embedded workers and one `worker join --threads 1 --log-tasks`, which logs after every task the process's peak
resident memory while that task ran (VmHWM, reset before each task). Prints per kind the largest and median peak;
the largest of all is the worker's peak over the job (the resets also lower what getrusage would report).

  python3 benchmarks/worker_task_memory.py OUT --model M --profile P --calibration TEXT [--calibration-tokens N] [coordinator options]

Environment: SWIFT_BIN (default .build/debug).
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWIFT_BIN = os.environ.get("SWIFT_BIN", os.path.join(ROOT, ".build", "debug"))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, options = sys.argv[1], sys.argv[2:]
    subprocess.run(["rm", "-rf", out], check=True)
    log = out + ".coordinator.log"
    with open(log, "w") as f:
        coordinator = subprocess.Popen([os.path.join(SWIFT_BIN, "coordinator"), "start", "--out", out, "--workers", "0",
                                        "--bind", "tcp://127.0.0.1:*", "--quiet"] + options, stderr=f, stdout=subprocess.DEVNULL)
    endpoint = None
    for _ in range(600):
        m = re.search(r"coordinator listening on (tcp://\S+)", open(log).read())
        if m:
            endpoint = m.group(1)
            break
        if coordinator.poll() is not None:
            sys.exit(f"the coordinator exited ({coordinator.returncode}): see {log}")
        time.sleep(0.1)
    if endpoint is None:
        sys.exit(f"the coordinator never said where it listens: see {log}")
    worker = subprocess.run([os.path.join(SWIFT_BIN, "worker"), "join", endpoint, "--threads", "1", "--log-tasks"],
                            capture_output=True, text=True)
    if coordinator.wait() != 0:
        sys.exit(f"the job failed: see {log}")
    peaks = {}
    for kind, mb in re.findall(r"task \S+ \((\w+)\) took [0-9.]+ s, peak resident memory ([0-9.]+) MB", worker.stderr):
        peaks.setdefault(kind, []).append(float(mb))
    summary = {kind: {"tasks": len(v), "max_mb": max(v), "median_mb": statistics.median(v)} for kind, v in sorted(peaks.items())}
    summary["job_max_mb"] = max(max(v) for v in peaks.values())
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
