#!/usr/bin/env python3
"""Writes the fuzz seed corpora: small valid and near-valid inputs for each target in FuzzTarget.

Usage: scripts/fuzz_corpus.py OUT_DIR [PACKAGE_WEIGHTS | --only-envelope]
  OUT_DIR/<target>/ receives the seeds (Tests/FuzzCorpus is the committed copy CI replays).
  PACKAGE_WEIGHTS: a real package's layers/<folder>/weights.quant, cut down to a few rows for the package seeds;
  without it the package seeds are only the hand-made headers.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import gguf
import numpy as np


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def write(out, target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def safetensors_bytes(tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds(out):
    f32 = np.arange(8, dtype=np.float32).tobytes()
    f16 = np.arange(6, dtype=np.float16).tobytes()
    valid = safetensors_bytes({"a": ("F32", [2, 4], f32), "b": ("F16", [3, 2], f16), "c": ("BF16", [2], b"\x80\x3f\x00\x40")},
                              {"format": "pt"})
    write(out, "safetensors", "valid", valid)
    write(out, "safetensors", "empty-header", safetensors_bytes({}))
    write(out, "safetensors", "truncated-data", valid[:-5])
    write(out, "safetensors", "short-length", valid[:6])
    write(out, "safetensors", "length-past-end", struct.pack("<Q", 1 << 40) + valid[8:])
    nan = safetensors_bytes({"n": ("F32", [1, 2], struct.pack("<ff", float("nan"), 1.0))})
    write(out, "safetensors", "non-finite", nan)
    h = b'{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}'
    write(out, "safetensors", "overflowing-shape", struct.pack("<Q", len(h)) + h + bytes(16))
    h = b'{"x":{"dtype":"I32","shape":[2],"data_offsets":[8,0]}}'
    write(out, "safetensors", "reversed-offsets", struct.pack("<Q", len(h)) + h + bytes(8))


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def uint_field(number, value):
    return varint(number << 3) + varint(value)


def wire_module():
    """The v2 wire contract as Python classes, generated from proto/ by the system protoc (pip install protobuf)."""
    gen = tempfile.mkdtemp()
    subprocess.run(["protoc", f"--python_out={gen}", "--proto_path", os.path.join(ROOT, "proto"), "uqcit/v2/messages.proto"], check=True)
    sys.path.insert(0, gen)
    from uqcit.v2 import messages_pb2
    return messages_pb2


def envelope_seeds(out):
    pb = wire_module()

    def envelope(version=2, **body):
        e = pb.Envelope(protocol_version=version, job_id="job", **body)
        return e.SerializeToString()

    tensor = pb.TensorRef(file="model.safetensors", name="w", begin=0, end=128, dtype="F32", shape=[4, 8])
    policy = pb.LevelPolicy(pattern="10-90", high=pb.QUANT_FORMAT_INT8, low=pb.QUANT_FORMAT_INT4, high_fraction=0.1)
    task = pb.TaskAssignment(task_id="M0", attempt=1, tensor_index=0,
                             measure=pb.MeasureTask(tensor=tensor, candidates=[policy], rotation=False, sample_rows=4))
    lease = envelope(task_assignment=task)

    def pair(name, result, lease_bytes=lease):
        write(out, "envelope", name, struct.pack("<I", len(lease_bytes)) + lease_bytes + envelope(task_result=result))

    def result(candidates, outputs=()):
        return pb.TaskResult(task_id="M0", attempt=1, seconds=0.5, outputs=list(outputs),
                             measurement=pb.MeasureResult(candidates=candidates))

    valid = [pb.CandidateMeasurement(policy=policy, bytes=64, relative_error=0.01)]
    pair("measure-valid", result(valid))
    pair("measure-wrong-count", result([]))
    pair("measure-nan-error", result([pb.CandidateMeasurement(policy=policy, bytes=64, relative_error=float("nan"))]))
    pair("measure-with-output", result(valid, [pb.OutputFile(name="../x", size=1, sha256=bytes(32))]))
    pair("result-without-part", pb.TaskResult(task_id="M0", attempt=1, seconds=0.5))
    pair("other-task", pb.TaskResult(task_id="A9", attempt=1, measurement=pb.MeasureResult(candidates=valid)))
    pair("version-1", result(valid), envelope(version=1, task_assignment=task))
    write(out, "envelope", "heartbeat-only", struct.pack("<I", 5) + envelope(heartbeat=pb.Heartbeat())[:5])
    write(out, "envelope", "empty", b"")


# Journal records are the coordinator's own JSON (local state, not the wire).
TENSOR = {"shard": "model.safetensors", "entry": {"name": "w", "dtype": "F32", "shape": [4, 8], "begin": 0, "end": 128}}
POLICY = {"pattern": "10-90", "high": "int8", "low": "int4", "high_fraction": 0.1, "compensation_rank": 0}


def journal_frame(record):
    payload = json.dumps(record).encode()
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def journal_seeds(out):
    outcome = {"taskId": "M0", "measurements": [{"policy": POLICY, "bytes": 64, "relativeError": 0.01}], "outputs": [], "seconds": 0.5}
    records = [
        {"plan": {"sourceFingerprint": "abc", "profileHash": "def", "tasks": 3}},
        {"worker": {"name": "w1", "peer": "tcp://127.0.0.1:1", "threads": 2}},
        {"lease": {"task": "M0", "attempt": 1, "worker": "w1"}},
        {"done": {"task": "M0", "attempt": 1, "worker": "w1", "outcome": outcome}},
        {"folder": {"name": "layer_000", "files": [{"name": "layers/layer_000/weights.quant", "size": 10, "sha256": "0" * 64}], "reports": []}},
        {"resume": {"skippedTasks": 1, "skippedFolders": 0}},
        {"final": {}},
    ]
    whole = b"".join(journal_frame(r) for r in records)
    write(out, "journal", "records", whole)
    write(out, "journal", "torn-tail", whole[:-7])
    corrupt = bytearray(whole)
    corrupt[12] ^= 0xFF
    write(out, "journal", "corrupt-first", bytes(corrupt))
    write(out, "journal", "huge-length", struct.pack("<II", 0xFFFFFFFF, 0) + whole)
    for i, r in enumerate(records):
        write(out, "journal", f"payload-{i}", json.dumps(r).encode())


def package_seeds(out, weights):
    if weights:
        raw = open(weights, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        data = raw[8 + n:]
        meta = json.loads(header["__metadata__"]["uqcit"])
        rows = 4
        arrays = {}
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            chunk = data[b:end]
            shape = e["shape"]
            if not name.endswith("#columns") and len(shape) >= 1 and shape[0] > rows:
                chunk = chunk[:len(chunk) // shape[0] * rows]
                shape = [rows] + shape[1:]
            arrays[name] = (e["dtype"], shape, chunk)
        for t in meta["tensors"]:
            t["shape"][0] = rows
            if t.get("layout"):
                t["layout"]["rows"] = rows
        order = sorted(arrays, key=lambda k: header[k]["data_offsets"][0])
        tensors = {k: arrays[k] for k in order}
        valid = safetensors_bytes(tensors, {"uqcit": json.dumps(meta)})
        write(out, "package", "channel-valid", valid)
        write(out, "package", "channel-truncated", valid[:-40])
        short = dict(tensors)
        first = order[0]
        short[first] = (short[first][0], short[first][1], short[first][2][:-short[first][1][-1]])
        write(out, "package", "channel-short-codes", safetensors_bytes(short, {"uqcit": json.dumps(meta)}))
    write(out, "package", "no-uqcit-metadata", safetensors_bytes({"a": ("F32", [1], b"\0\0\0\0")}))
    write(out, "package", "wrong-format", safetensors_bytes({}, {"uqcit": json.dumps({"format": "other", "tensors": []})}))


def gguf_seeds(out):
    def build(name, llama):
        path = os.path.join(out, "gguf", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        w = gguf.GGUFWriter(path, "llama")
        if llama:
            w.add_block_count(1)
            w.add_context_length(16)
            w.add_embedding_length(8)
            w.add_feed_forward_length(16)
            w.add_head_count(2)
            w.add_head_count_kv(1)
            w.add_tokenizer_model("gpt2")
            w.add_token_list(["a", "b", "ab", "<s>"])
            w.add_token_types([1, 1, 1, 3])
            w.add_token_merges(["a b"])
            w.add_bos_token_id(3)
        rng = np.random.default_rng(0)
        w.add_tensor("token_embd.weight", rng.standard_normal((4, 8)).astype(np.float32))
        w.add_tensor("blk.0.attn_q.weight", rng.standard_normal((8, 8)).astype(np.float16))
        w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
        q8 = gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor("blk.0.ffn_down.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return open(path, "rb").read()

    llama = build("llama-valid", True)
    build("tensors-only", False)
    write(out, "gguf", "truncated-header", llama[:200])
    write(out, "gguf", "truncated-data", llama[:-16])
    bad = bytearray(llama)
    bad[8:16] = struct.pack("<Q", 1 << 60)  # tensor count
    write(out, "gguf", "huge-tensor-count", bytes(bad))
    bad = bytearray(llama)
    bad[16:24] = struct.pack("<Q", 1 << 60)  # metadata count
    write(out, "gguf", "huge-kv-count", bytes(bad))


def sentencepiece_seeds(out):
    """The tokenizer fixture's model, and hand-made ModelProtos: pieces with odd scores and types, lengths past
    the end, a piece that is not UTF-8."""
    fixture = os.path.join(ROOT, "Tests", "EngineTests", "Fixtures", "sentencepiece", "tokenizer.model")
    model = open(fixture, "rb").read()
    write(out, "sentencepiece", "fixture", model)
    write(out, "sentencepiece", "truncated", model[:5])

    def piece(text, score=None, kind=None):
        body = field(1, text)
        if score is not None:
            body += varint(2 << 3 | 5) + struct.pack("<f", score)
        if kind is not None:
            body += uint_field(3, kind)
        return field(1, body)

    write(out, "sentencepiece", "scores-and-types", piece(b"<unk>", 0.0, 2) + piece(b"a", -1.5) + piece(b"<0x41>", 0.0, 6)
          + piece(b"b", float("nan"), 1) + piece(b"c", float("inf"), 99))
    write(out, "sentencepiece", "length-past-end", varint(1 << 3 | 2) + varint(1 << 40) + b"x")
    write(out, "sentencepiece", "not-utf8", piece(b"\xff\xfe", 0.0))
    write(out, "sentencepiece", "empty", b"")


if __name__ == "__main__":
    out = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "--only-envelope":   # the wire seeds alone, after a protocol change
        envelope_seeds(out)
        sys.exit(0)
    safetensors_seeds(out)
    envelope_seeds(out)
    journal_seeds(out)
    package_seeds(out, sys.argv[2] if len(sys.argv) > 2 else None)
    gguf_seeds(out)
    sentencepiece_seeds(out)
