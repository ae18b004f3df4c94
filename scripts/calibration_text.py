#!/usr/bin/env python3
"""Writes a calibration text for a shared model, disjoint from its eval.txt, from files every Python install has.

  python3 scripts/calibration_text.py tiny-llama OUT [--bytes N]   (default 131072)
  python3 scripts/calibration_text.py smollm2 OUT [--bytes N]

tiny-llama-bytes: its training domain, the standard library's .py files, taken as its train/prep.py splits them
(sorted, tests left out, every 30th file to eval): only files on the training side, so none of eval.txt.
SmolLM2: English prose about Python that is not its eval.txt (IDLE's NEWS): the language reference topics in
pydoc_data.topics, in key order.
"""
import argparse
import os
import sysconfig


def stdlib_training_files():
    root = sysconfig.get_paths()["stdlib"]
    skip = ("test", "tests", "idle_test", "site-packages", "__pycache__")
    files = []
    for dp, dns, fns in os.walk(root):
        parts = os.path.relpath(dp, root).split(os.sep)
        if any(p in skip or p.startswith("test_") for p in parts):
            dns[:] = []
            continue
        dns[:] = sorted(d for d in dns if d not in skip)
        files += [os.path.join(dp, f) for f in fns if f.endswith(".py") and not f.startswith("test_")]
    files.sort()
    return root, [f for i, f in enumerate(files) if i % 30 != 0]


def tiny_llama(limit):
    root, files = stdlib_training_files()
    out = bytearray()
    for f in files:
        out += b"\n\x00# ---- file: %s ----\n" % os.path.relpath(f, root).encode()
        out += open(f, "rb").read()
        if len(out) >= limit:
            break
    return bytes(out[:limit])


def smollm2(limit):
    from pydoc_data import topics
    text = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
    return text.encode()[:limit].decode("utf-8", "ignore").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["tiny-llama", "smollm2"])
    ap.add_argument("out")
    ap.add_argument("--bytes", type=int, default=131072)
    a = ap.parse_args()
    data = tiny_llama(a.bytes) if a.model == "tiny-llama" else smollm2(a.bytes)
    with open(a.out, "wb") as f:
        f.write(data)
    print(f"{a.out}: {len(data)} bytes of {a.model} calibration text")


if __name__ == "__main__":
    main()
