#!/usr/bin/env python3
"""Checks a `uqcit export --format compressed-tensors` folder with the compressed-tensors package itself (PyPI):
its config parses as a QuantizationConfig, every packed module decompresses through the library's own
PackedQuantizationCompressor, and the weights equal those of `uqcit export` (bf16/f16) of the same package.

  python3 scripts/check_compressed_tensors.py CT_DIR HF_DIR
(pip install compressed-tensors torch safetensors; the torch CPU wheel is enough.)
"""
import json
import sys

import torch
from compressed_tensors.compressors.pack_quantized.base import PackedQuantizationCompressor
from compressed_tensors.quantization import QuantizationConfig
from safetensors.torch import load_file


def main(ct_dir, hf_dir):
    config = json.load(open(f"{ct_dir}/config.json"))
    qc = QuantizationConfig.model_validate(config["quantization_config"])
    assert qc.format == "pack-quantized" and qc.quantization_status == "compressed", qc
    packed = load_file(f"{ct_dir}/model.safetensors")
    reference = load_file(f"{hf_dir}/model.safetensors")
    schemes = list(qc.config_groups.values())
    modules = sorted(k[: -len(".weight_packed")] for k in packed if k.endswith(".weight_packed"))
    checked = mismatched = 0
    for m in modules:
        scheme = next(s for s in schemes if "Linear" in s.targets or m in s.targets)
        state = {k.split(".")[-1]: v for k, v in packed.items() if k.startswith(m + ".") and k.count(".") == m.count(".") + 1}
        # float32 output: the product of an integer code and an f16 scale is exact there, then one rounding to the
        # model dtype, as `uqcit export` does.
        state["weight_scale"] = state["weight_scale"].to(torch.float32)
        weight = PackedQuantizationCompressor.decompress(state, scheme)["weight"]
        ref = reference[m + ".weight"]
        got = weight.to(ref.dtype)
        diff = (got.view(torch.int16) != ref.view(torch.int16)).sum().item()
        checked += ref.numel()
        mismatched += diff
        if diff:
            print(f"{m}: {diff} of {ref.numel()} weights differ", file=sys.stderr)
    dense = [k for k in packed if not any(k.startswith(m + ".") for m in modules)]
    for k in dense:
        assert torch.equal(packed[k].view(torch.uint8), reference[k].view(torch.uint8)), k
    print(json.dumps({"modules": len(modules), "weights_checked": checked, "weights_differing": mismatched,
                      "dense_tensors_identical": len(dense), "format": qc.format,
                      "groups": {k: g.weights.model_dump(include={"num_bits", "group_size", "symmetric", "strategy"})
                                 for k, g in qc.config_groups.items()}}))
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
