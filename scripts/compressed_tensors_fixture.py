#!/usr/bin/env python3
"""Fixture for the compressed-tensors layout: compressed-tensors' own PackedQuantizationCompressor packs known
int4 and int8 codes (weight = code * scale, exact in float32, so its quantize recovers the codes), and the
fixture records codes, f16 scales and the int32 words it wrote. The Swift test packs the same codes the way a
package stores them and must produce the same words.

  python3 scripts/compressed_tensors_fixture.py   (pip install compressed-tensors torch)
"""
import json
import os

import torch
from compressed_tensors.compressors.pack_quantized.base import PackedQuantizationCompressor
from compressed_tensors.quantization import QuantizationScheme

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTests", "Fixtures",
                   "compressed-tensors", "pack_quantized.json")


def case(bits, rows, cols, group, gen):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    codes = torch.randint(lo, hi + 1, (rows, cols), generator=gen, dtype=torch.int32)
    scales = (torch.rand((rows, cols // group), generator=gen) * 0.1 + 1e-3).to(torch.float16)
    weight = codes.to(torch.float32) * scales.to(torch.float32).repeat_interleave(group, dim=1)
    scheme = QuantizationScheme(targets=["Linear"], weights={"num_bits": bits, "type": "int", "symmetric": True,
                                                            "strategy": "group", "group_size": group})
    out = PackedQuantizationCompressor.compress({"weight": weight, "weight_scale": scales.to(torch.float32)}, scheme)
    return {"bits": bits, "rows": rows, "columns": cols, "group_size": group,
            "codes": codes.flatten().tolist(),
            "scale_f16_bits": scales.view(torch.int16).to(torch.int32).bitwise_and(0xFFFF).flatten().tolist(),
            "weight_packed_shape": list(out["weight_packed"].shape),
            "weight_packed": out["weight_packed"].flatten().tolist(),
            "weight_shape": out["weight_shape"].tolist()}


def main():
    gen = torch.Generator().manual_seed(20261130)
    cases = [case(4, 4, 64, 32, gen), case(8, 3, 64, 64, gen)]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"made_with": "compressed-tensors PackedQuantizationCompressor.compress", "cases": cases}, f)


if __name__ == "__main__":
    main()
