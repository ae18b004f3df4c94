#!/usr/bin/env python3
"""Reference ids for the Swift byte-level BPE tokenizer (Tests/RuntimeTests/Fixtures/bpe_smollm2.json).

The SmolLM2 tokenizer is rebuilt from the GGUF's tokenizer.ggml.* metadata with the `tokenizers` package, shaped as
SmolLM2's own tokenizer.json is (BPE over the GPT-2 byte alphabet; pre-tokenizer Digits(individual) then ByteLevel;
control tokens as special added tokens). transformers' GGUF loader is not used: it does not know the "smollm"
pre-tokenizer and would keep digit runs together.

A second, small tokenizer ("toy") takes the first merges of the same vocabulary with a different pre-tokenizer shape
(Split on the llama-3 pattern, then ByteLevel without its regex) and a user-defined added token; its tokenizer.json
is embedded whole, so the Swift reader of tokenizer.json is checked too.

Usage: python3 scripts/bpe_fixture.py [models-dir] [output]
"""
import json
import sys
from pathlib import Path

import gguf
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "models"
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "Tests" / "RuntimeTests" / "Fixtures" / "bpe_smollm2.json"
GGUF_PATH = MODELS / "smollm2-135m" / "SmolLM2-135M-Instruct.Q4_1.gguf"
EVAL_PATH = MODELS / "smollm2-135m" / "eval.txt"

CONTROL, USER_DEFINED = 3, 4
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TOY_MERGES = 600


def read_gguf_vocabulary(path):
    reader = gguf.GGUFReader(str(path))

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    types = [int(reader.fields["tokenizer.ggml.token_type"].parts[i][0]) for i in reader.fields["tokenizer.ggml.token_type"].data]
    return strings("tokenizer.ggml.tokens"), types, strings("tokenizer.ggml.merges")


def smollm2_tokenizer(tokens, types, merges):
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t, k in zip(tokens, types) if k == CONTROL])
    return tok


def toy_tokenizer(tokens, types, merges):
    """The 256 byte symbols, the first TOY_MERGES merges and their results, two control tokens and a user-defined one."""
    alphabet = [t for t, k in zip(tokens, types) if k != CONTROL and len(t) == 1]
    kept = [tuple(m.split(" ", 1)) for m in merges[:TOY_MERGES]]
    vocab = {"<|endoftext|>": 0, "<|im_start|>": 1}
    for t in alphabet + [a + b for a, b in kept]:
        vocab.setdefault(t, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=kept))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", normalized=False, special=True),
                            AddedToken("<|im_start|>", normalized=False, special=True)])
    tok.add_tokens([AddedToken("<think>", normalized=False, special=False)])
    return tok


TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog. It's 9:41, isn't it? We'll see; they'd've known.",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n",
    "Numbers: 0 7 42 1234567 3.14159 -273.15 1e-9 0x1F 1,000,000 ²³ ½ ٣٤٥",
    "Whitespace:  two   three    four\t\ttabs\n\n\nnewlines \n \n  trailing   ",
    "   leading spaces and a vertical\u000btab and next\u0085line and nbsp\u00a0here",
    "Unicode: café naïve Ελληνικά русский עברית العربية हिन्दी",
    "Emoji: 👋🏽 🤖 👨‍👩‍👧‍👦 🇯🇵 ❤️ and CJK: 中文分词测试，日本語のテキスト。한국어 텍스트",
    "Canonically equivalent, different bytes: a\u2001b a\u2003b caf\u00e9 cafe\u0301 \u212b \u00c5 \u2126 \u03a9",
    "Contractions and case: DON'T I'M YOU'RE it's we've she'll He'd 'tis",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|><|endoftext|>",
    "Special-looking but plain: <|im_start <think> </s> [INST]",
    "Punctuation runs: ... !!! ??? --- *** ''' \"\"\" ::: ;;; ((( ))) {{{ }}} @@@ ### $$$ %%% ^^^ &&&",
    "URLs and paths: https://example.com/a/b?c=1&d=2#frag /usr/local/bin/python3 C:\\Windows\\System32",
    "Control bytes SmolLM2 has no token for (dropped): EOT\x04 ACK\x06 end",
    "",
    " ",
    "\n",
    "a",
]


def main():
    tokens, types, merges = read_gguf_vocabulary(GGUF_PATH)
    texts = TEXTS + [EVAL_PATH.read_bytes()[:20_000].decode("utf-8", errors="ignore")]
    smollm2 = smollm2_tokenizer(tokens, types, merges)
    toy = toy_tokenizer(tokens, types, merges)
    fixture = {
        "source": "scripts/bpe_fixture.py: tokenizers on SmolLM2-135M-Instruct.Q4_1.gguf's vocabulary",
        "smollm2": [{"text": t, "ids": smollm2.encode(t, add_special_tokens=False).ids} for t in texts],
        "toy": {
            "tokenizer_json": json.loads(toy.to_str()),
            "cases": [{"text": t, "ids": toy.encode(t, add_special_tokens=False).ids} for t in texts[:-1] + ["I <think> so<|endoftext|>"]],
        },
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
