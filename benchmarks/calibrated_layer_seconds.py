#!/usr/bin/env python3
"""Seconds per block of a calibrated job (gptq-*), read off its journal while it runs.

Runs `coordinator start ARGS... --out OUT` and polls OUT/.uqcit/journal ([u32 length][u32 CRC-32][JSON] records)
every 20 ms. Block l's H is complete when its last CAPTURE (task K<l>.<shard>) is done; block l takes from then
until block l+1's H is complete (its GPTQ tiles, its PROPAGATE, the next block's CAPTURE), the last block until
the coordinator exits. Prints one line per block and the total.
Usage: benchmarks/calibrated_layer_seconds.py COORDINATOR OUT ARGS...
"""
import json, os, struct, subprocess, sys, time

coordinator, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
journal = os.path.join(out, ".uqcit", "journal")
start = time.time()
proc = subprocess.Popen([coordinator, "start", "--out", out, "--quiet"] + args)
captures, offset = {}, 0  # block -> times its CAPTURE shards were seen done

def poll():
    global offset
    try:
        data = open(journal, "rb").read()
    except FileNotFoundError:
        return
    while offset + 8 <= len(data):
        n, _ = struct.unpack_from("<II", data, offset)
        if offset + 8 + n > len(data):
            break
        done = json.loads(data[offset + 8:offset + 8 + n]).get("done")
        offset += 8 + n
        if done and done["task"].startswith("K"):
            captures.setdefault(int(done["task"][1:].split(".")[0]), []).append(time.time())

while proc.poll() is None:
    poll()
    time.sleep(0.02)
poll()
end = time.time()
if proc.returncode != 0:
    sys.exit(f"coordinator exited with {proc.returncode}")
complete = {l: max(t) for l, t in captures.items()}
layers = sorted(complete)
print(f"H of block 0 complete after {complete[layers[0]] - start:.2f} s")
for i, l in enumerate(layers):
    until = complete[layers[i + 1]] if i + 1 < len(layers) else end
    print(f"block {l}: {until - complete[l]:.2f} s")
print(f"total {end - start:.2f} s")
