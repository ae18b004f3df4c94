#!/usr/bin/env python3
"""Fixtures for the ggml block formats, made with llama.cpp's own Python package (`gguf` on PyPI).

For every type: random blocks (scales drawn as finite f16 values, so every block is one llama.cpp can meet) and
their dequantization by gguf.quants.dequantize, the reference the Swift formats must equal bit for bit. For the
types gguf.quants can quantize (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): rows of floats and llama.cpp's reference blocks.

Files (Tests/EngineTests/Fixtures/ggml/): TYPE.blocks (raw blocks), TYPE.dequant.f32 (little-endian float32),
TYPE.source.f32 and TYPE.quant (quantize fixtures, where available). Run: python3 scripts/ggml_fixtures.py
(pip install gguf==0.19.0 numpy).

F16 and BF16 (float_fixtures): TYPE.blocks holds every 16-bit pattern (for F16 all but the NaNs: numpy widens a
signalling NaN unchanged where ggml's conversion quiets it), TYPE.source.f32 floats of every kind (normal,
subnormal in the target, ties, overflow, infinities, zeros; NaNs for BF16 only, numpy keeping a NaN's payload in
float16 where ggml writes 0x7E00) and TYPE.quant their conversion by gguf.quants.quantize.
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTests", "Fixtures", "ggml")
TYPES = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]
QUANTIZABLE = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}
BLOCKS = 64

# Byte offsets of the f16 fields in each block (ggml-common.h): these get finite values of a sane size.
F16_FIELDS = {
    "Q8_0": [0], "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2],
    "Q2_K": [80, 82],    # scales[16], qs[64], d, dmin
    "Q3_K": [108],       # hmask[32], qs[64], scales[12], d
    "Q4_K": [0, 2],      # d, dmin, scales[12], qs[128]
    "Q5_K": [0, 2],      # d, dmin, scales[12], qh[32], qs[128]
    "Q6_K": [208],       # ql[128], qh[64], scales[16] (int8), d
    "IQ4_NL": [0], "IQ4_XS": [0],
}


def random_blocks(name, rng):
    _, type_size = GGML_QUANT_SIZES[T[name]]
    raw = rng.integers(0, 256, size=(BLOCKS, type_size), dtype=np.uint8)
    for off in F16_FIELDS[name]:
        # Magnitudes from 1e-4 to 1 with both signs, plus a few exact zeros and subnormals.
        v = (rng.choice([-1.0, 1.0], BLOCKS) * 10.0 ** rng.uniform(-4, 0, BLOCKS)).astype(np.float16)
        v[0] = 0.0
        v[1] = np.float16(3e-6)   # subnormal in f16
        raw[:, off:off + 2] = v.view(np.uint8).reshape(BLOCKS, 2)
    return raw


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261130)
    for name in TYPES:
        blocks = random_blocks(name, rng)
        deq = quants.dequantize(blocks.reshape(1, -1), T[name]).astype("<f4")
        blocks.tofile(os.path.join(OUT, name + ".blocks"))
        deq.tofile(os.path.join(OUT, name + ".dequant.f32"))
        if name in QUANTIZABLE:
            block_size, _ = GGML_QUANT_SIZES[T[name]]
            x = (rng.standard_normal((8, 8 * block_size)) * rng.uniform(0.001, 2.0, (8, 1))).astype("<f4")
            x[0, :block_size] = 0.0                      # an all-zero block
            x[1, 3] = 40.0                               # one outlier
            q = quants.quantize(x, T[name])
            x.tofile(os.path.join(OUT, name + ".source.f32"))
            q.tofile(os.path.join(OUT, name + ".quant"))
        print(f"{name}: {BLOCKS} blocks" + (", quantize rows" if name in QUANTIZABLE else ""), file=sys.stderr)
    float_fixtures()


def float_fixtures():
    # A generator of its own, so the fixtures above stay byte for byte what they were.
    rng = np.random.default_rng(20261201)
    for name, bits_of in (("F16", lambda x: x.astype(np.float16).view(np.uint16)),
                          ("BF16", lambda x: quants.quantize(x, T.BF16).view(np.uint16))):
        patterns = np.arange(1 << 16, dtype=np.uint16)
        if name == "F16":
            patterns = patterns[~np.isnan(patterns.view(np.float16))]
        deq = quants.dequantize(patterns.view(np.uint8), T[name]).astype("<f4")
        x = np.concatenate([
            rng.standard_normal(256) * 10.0 ** rng.uniform(-8, 5, 256),           # normal, subnormal and overflow in f16
            np.float32(2.0) ** rng.integers(-30, 20, 64) * (1 + rng.integers(0, 1024, 64) / 1024 + 2.0 ** -11),
            np.float32(2.0) ** rng.integers(-30, 20, 64) * (1 + rng.integers(0, 128, 64) / 128 + 2.0 ** -8),
            [0.0, -0.0, np.inf, -np.inf, 65504, 65519.99, 65520, -65520, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 6e-8, 3.4e38],
        ]).astype("<f4")
        if name == "BF16":
            nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0x7F80FFFF, 0xFFBFFFFF, 0x7FFF8000], dtype="<u4")
            x = np.concatenate([x, nans.view("<f4")])
        with np.errstate(over="ignore"):
            q = bits_of(x).astype("<u2")
        patterns.astype("<u2").tofile(os.path.join(OUT, name + ".blocks"))
        deq.tofile(os.path.join(OUT, name + ".dequant.f32"))
        x.tofile(os.path.join(OUT, name + ".source.f32"))
        q.tofile(os.path.join(OUT, name + ".quant"))
        print(f"{name}: {len(patterns)} patterns, {len(x)} values", file=sys.stderr)


if __name__ == "__main__":
    main()
