#!/usr/bin/env python3
"""Makes the SentencePiece tokenizer fixture (Tests/EngineTests/Fixtures/sentencepiece/): a small byte-fallback BPE
tokenizer.model trained with the `sentencepiece` package on SmolLM2's eval text (identity normalization keeping
runs of spaces, as Llama's own tokenizer.model: llama.cpp's tokenizer applies no normalizer), a config.json whose vocab_size
leaves ids past the model's pieces (padding), added_tokens.json and a tokenizer_config.json with an
added_tokens_decoder, add flags and a chat template; and expected.json, the vocabulary llama.cpp's own converter
makes of that folder (convert_hf_to_gguf's _create_vocab_sentencepiece and gguf-py's SpecialVocab, from the
llama-cpp-python sdist that scripts/llama-cpp.sh unpacks), which GGUFSentencePieceTests compares ours with; and
encoded.json, lines of that text with the sentencepiece package's ids for them, which SentencePieceTokenizerTests
compares the runtime's tokenizer with.

  pip install sentencepiece gguf; scripts/llama-cpp.sh; python3 scripts/sentencepiece_fixture.py
"""
import io
import json
import os
import sys
from pathlib import Path

import sentencepiece as spm

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "EngineTests" / "Fixtures" / "sentencepiece"
LLAMA_CPP = ROOT / "out" / "peers" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"
TEXT = ROOT / ".." / "shared" / "models" / "smollm2-135m" / "eval.txt"
PIECES = 700
VOCAB_SIZE = PIECES + 4          # three ids for added tokens, one left as [PADn]
ENCODED_LINES = 100


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(TEXT.read_text().splitlines()), model_writer=model,
                                   vocab_size=PIECES, model_type="bpe", byte_fallback=True, character_coverage=0.9995,
                                   user_defined_symbols=["<tool>", "<call>"], control_symbols=["<sys>"], num_threads=1,
                                   normalization_rule_name="identity", remove_extra_whitespaces=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                                   minloglevel=2)
    (OUT / "tokenizer.model").write_bytes(model.getvalue())
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB_SIZE,
              "bos_token_id": 1, "eos_token_id": 2}
    (OUT / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    (OUT / "added_tokens.json").write_text(json.dumps({"\u2581tool\u2581call": PIECES + 2}, indent=1) + "\n")
    tokenizer_config = {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "added_tokens_decoder": {str(PIECES): {"content": "<|user|>", "special": False},
                                 str(PIECES + 1): {"content": "<|end|>", "special": True},
                                 "3": {"content": "<sys>", "special": True},
                                 "4": {"content": "\u2581my\u2581tool", "special": False}},
        "chat_template": "{% for m in messages %}<|user|>{{ m['content'] }}<|end|>{% endfor %}",
    }
    (OUT / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=1) + "\n")

    sys.path[:0] = [str(LLAMA_CPP), str(LLAMA_CPP / "gguf-py")]
    import gguf
    from conversion.base import TextModel

    class Folder:
        """What _create_vocab_sentencepiece reads of a model: its folder and hyper-parameters."""
        dir_model = OUT
        hparams = config
        find_hparam = TextModel.find_hparam
        does_token_look_special = TextModel.does_token_look_special

    tokens, scores, types = TextModel._create_vocab_sentencepiece(Folder())
    special = gguf.SpecialVocab(OUT, n_vocab=len(tokens))
    expected = {"tokens": [t.decode("utf-8") for t in tokens], "scores": scores, "token_types": [int(t) for t in types],
                "special_token_ids": special.special_token_ids, "add_special_token": special.add_special_token,
                "chat_template": special.chat_template}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    # The sentencepiece package's own ids for lines of the eval text (llama.cpp's llama-tokenize gives the same:
    # scripts/check_sentencepiece_gguf.py), for the runtime's tokenizer.
    sp = spm.SentencePieceProcessor(model_file=str(OUT / "tokenizer.model"))
    lines = [l for l in TEXT.read_text().splitlines() if l.strip()][:ENCODED_LINES]
    lines += ["Bytes for what no piece covers: a llama \U0001F999, \u65E5\u672C\u8A9E, \u00E9t\u00E9.", "  two leading spaces, a tab\there"]
    encoded = {"lines": lines, "ids": [sp.encode(l) for l in lines]}
    (OUT / "encoded.json").write_text(json.dumps(encoded, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(tokens)} tokens, {os.path.getsize(OUT / 'tokenizer.model')} bytes of tokenizer.model")


if __name__ == "__main__":
    main()
