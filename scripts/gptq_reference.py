#!/usr/bin/env python3
"""Reference GPTQ rounding for the Swift GPTQ (Tests/EngineTests/Fixtures/gptq/gptq_int4_g64.json).

Written from the GPTQ paper's algorithm (Frantar et al. 2022, Algorithm 1 with lazy batches): H + damping I,
U = upper Cholesky factor of its inverse, columns rounded in order with the error divided by U_jj spread over the
batch's later columns (rank-1) and, per batch, over the remaining columns (a matrix product). Grid as the package
stores it: symmetric, q in -7..7, one f16 scale per 64 columns of a row, d = max|w| / 7 taken from the
error-updated weights when the group is reached; rounding in f32 as w * (1/d), ties to even.

X has small integer entries so H = X^T X is exact in any summation order; W is a multiple of 2^-12. The fixture
keeps X and W, and the expected scales (f16 bits) and codes (q + 8, one hex digit each).

Usage: python3 scripts/gptq_reference.py [output]
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "Tests/EngineTests/Fixtures/gptq/gptq_int4_g64.json"
ROWS, COLS, SAMPLES = 16, 256, 320
GROUP, BLOCK, DAMP, MAXQ = 64, 128, 0.01, 7


def inputs(rng):
    """Correlated activations: a rank-8 signal plus noise, a few columns with large variance, one dead column."""
    z = rng.standard_normal((SAMPLES, 8)) @ rng.standard_normal((8, COLS)) * 0.6 + rng.standard_normal((SAMPLES, COLS)) * 0.5
    z[:, rng.choice(COLS, 6, replace=False)] *= 3
    x = np.clip(np.round(z), -4, 4)
    x[:, 17] = 0
    return x.astype(np.int64)


def f16_scale(amax):
    return np.float16(np.float32(amax) / np.float32(MAXQ))


def gptq(w, h):
    w = w.astype(np.float64).copy()
    h = h.astype(np.float64).copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    h[np.diag_indices(COLS)] += DAMP * np.mean(np.diag(h))
    hinv = torch.cholesky_inverse(torch.linalg.cholesky(torch.from_numpy(h)))
    u = torch.linalg.cholesky(hinv, upper=True).numpy()

    groups = COLS // GROUP
    scales = np.zeros((ROWS, groups), dtype=np.float16)
    codes = np.zeros((ROWS, COLS), dtype=np.int64)
    for i1 in range(0, COLS, BLOCK):
        i2 = min(i1 + BLOCK, COLS)
        batch = w[:, i1:i2].copy()
        errors = np.zeros_like(batch)
        for i in range(i2 - i1):
            col = i1 + i
            if col % GROUP == 0:
                amax = np.max(np.abs(batch[:, i:i + GROUP]), axis=1)
                scales[:, col // GROUP] = [f16_scale(a) for a in amax]
            d = scales[:, col // GROUP].astype(np.float32)
            inverse = np.where(d > 0, np.float32(1) / np.where(d > 0, d, 1), np.float32(0)).astype(np.float32)
            q = np.round(np.clip(batch[:, i].astype(np.float32) * inverse, -MAXQ, MAXQ))
            codes[:, col] = q.astype(np.int64)
            err = (batch[:, i] - q.astype(np.float64) * d.astype(np.float64)) / u[col, col]
            errors[:, i] = err
            batch[:, i + 1:] -= np.outer(err, u[col, col + 1:i2])
        w[:, i2:] -= errors @ u[i1:i2, i2:]
    return codes, scales


def main():
    rng = np.random.default_rng(20240901)
    x = inputs(rng)
    w = np.round(rng.standard_normal((ROWS, COLS)) * 0.05 * 4096) / 4096
    codes, scales = gptq(w, (x.T @ x).astype(np.float64))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "source": "scripts/gptq_reference.py",
        "rows": ROWS, "cols": COLS, "samples": SAMPLES, "group_size": GROUP, "damping_fraction": DAMP, "block_size": BLOCK,
        "x_digits": "".join(str(v + 4) for v in x.ravel()),
        "w": w.ravel().tolist(),
        "scales_f16_bits": scales.view(np.uint16).ravel().tolist(),
        "codes_hex": "".join(format(int(c) + 8, "x") for c in codes.ravel()),
    }) + "\n")
    dequantized = codes * scales.astype(np.float32).repeat(GROUP, axis=1)
    h = (x.T @ x).astype(np.float64)
    loss = np.einsum("ij,jk,ik->", w - dequantized, h, w - dequantized)
    print(f"wrote {OUT}; proxy loss {loss:.6g}")


if __name__ == "__main__":
    main()
