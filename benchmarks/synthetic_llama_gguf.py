#!/usr/bin/env python3
"""A GGUF source at frontier tensor shapes for the throughput comparison: two Llama-3.1-8B blocks (hidden 4096,
FFN 14336, 32 heads, 8 KV heads; 436M parameters, the FFN's six 14336 x 4096 tensors most of them), Gaussian
weights (std 0.02) stored as BF16, norms as F32, a 256-token byte vocabulary so the embeddings stay small. Both
llama-quantize and `coordinator start --model FILE.gguf` read it, so benchmarks/gguf_throughput.sh can compare
them on the same large tensors (SRC=FILE), where per-tensor costs weigh less than on SmolLM2.

Usage: benchmarks/synthetic_llama_gguf.py OUT.gguf
"""
import os
import sys

import gguf
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from tiny_llama_to_gguf import add_byte_tokenizer  # noqa: E402

HIDDEN, FFN, HEADS, KV_HEADS, LAYERS, VOCAB = 4096, 14336, 32, 8, 2, 256


def bf16(shape, rng):
    w = (rng.standard_normal(shape, dtype=np.float32) * 0.02).view(np.uint32)
    return ((w + 0x7FFF + ((w >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_name("synthetic-llama-3.1-8b-2-layers")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    writer.add_block_count(LAYERS)
    writer.add_context_length(8192)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(500000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(VOCAB)
    add_byte_tokenizer(writer)
    kv = HIDDEN // HEADS * KV_HEADS
    tensors = [("token_embd.weight", (VOCAB, HIDDEN)), ("output.weight", (VOCAB, HIDDEN))]
    for b in range(LAYERS):
        tensors += [(f"blk.{b}.attn_q.weight", (HIDDEN, HIDDEN)), (f"blk.{b}.attn_k.weight", (kv, HIDDEN)),
                    (f"blk.{b}.attn_v.weight", (kv, HIDDEN)), (f"blk.{b}.attn_output.weight", (HIDDEN, HIDDEN)),
                    (f"blk.{b}.ffn_gate.weight", (FFN, HIDDEN)), (f"blk.{b}.ffn_up.weight", (FFN, HIDDEN)),
                    (f"blk.{b}.ffn_down.weight", (HIDDEN, FFN))]
    for name, shape in tensors:
        writer.add_tensor(name, bf16(shape, rng), raw_dtype=gguf.GGMLQuantizationType.BF16)
    for b in range(LAYERS):
        for norm in ("attn_norm", "ffn_norm"):
            writer.add_tensor(f"blk.{b}.{norm}.weight", np.ones(HIDDEN, np.float32))
    writer.add_tensor("output_norm.weight", np.ones(HIDDEN, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(out)


if __name__ == "__main__":
    main()
