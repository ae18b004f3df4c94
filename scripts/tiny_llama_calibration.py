#!/usr/bin/env python3
"""Calibration text for tiny-llama-bytes that its eval.txt does not contain: bytes of the model's training split
(CPython 3.11.7 stdlib, every file whose sorted index is not a multiple of 30, as its train/prep.py splits it).
Checks that this Python's held-out concatenation starts with eval.txt, i.e. the split is the model's.
Usage: python3 scripts/tiny_llama_calibration.py EVAL_TXT OUT [BYTES] [OFFSET]"""
import os, sys, sysconfig

eval_txt, out = sys.argv[1], sys.argv[2]
size = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
offset = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 20
root = sysconfig.get_paths()['stdlib']
files = []
for dp, dns, fns in os.walk(root):
    parts = os.path.relpath(dp, root).split(os.sep)
    if any(p in ('test', 'tests', 'idle_test', 'site-packages', '__pycache__') or p.startswith('test_') for p in parts):
        dns[:] = []
        continue
    dns[:] = sorted(d for d in dns if d not in ('test', 'tests', 'idle_test', 'site-packages', '__pycache__'))
    files += [os.path.join(dp, f) for f in fns if f.endswith('.py') and not f.startswith('test_')]
files.sort()
SEP = b"\n\x00# ---- file: %s ----\n"
def cat(lst):
    return b''.join(SEP % os.path.relpath(f, root).encode() + open(f, 'rb').read() for f in lst)
held_out = cat(files[0::30])
if not held_out.startswith(open(eval_txt, 'rb').read()):
    sys.exit("this Python's stdlib does not reproduce eval.txt: the split would not be the model's")
train = cat([f for i, f in enumerate(files) if i % 30 != 0])
text = train[offset:offset + size]
open(out, 'wb').write(text)
print(f"{len(text)} bytes of the training split from offset {offset} of {len(train)} -> {out}")
