#!/usr/bin/env python3
"""Independent numpy reference for BERT sentence embeddings (all-MiniLM-L6-v2), used to check the Swift runtime.

Implements, in plain Python + numpy and without the Swift code:
  * BertTokenizer (transformers' slow tokenizer): clean text, CJK spacing, lowercase, NFD accent stripping,
    punctuation splitting, greedy longest-match-first WordPiece ('##' continuations, [UNK] for uncoverable
    words or words over 100 characters), [CLS] ... [SEP], truncation to 512;
  * BertModel in float32: word + absolute position + token type (0) embeddings, LayerNorm, post-LN encoder layers
    (self-attention, GELU (erf) MLP);
  * sentence-transformers pooling from modules.json / 1_Pooling (mean over the attention mask) and 2_Normalize
    (L2) when modules.json lists it.

With --check-tokenizers it also compares token ids with Hugging Face's `tokenizers` package (pip install
tokenizers) reading the model's tokenizer.json.

Writes Tests/RuntimeTests/Fixtures/minilm_reference.json:
    python3 scripts/minilm_reference.py --model ../shared/models/all-MiniLM-L6-v2 \
        --out Tests/RuntimeTests/Fixtures/minilm_reference.json --check-tokenizers
"""
import argparse, json, math, os, struct, sys, unicodedata
import numpy as np

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you doing today?",
    "Café déjà vu: the naïve façade of the Müller–Straße.",
    "Quantization of unaffable transformer checkpoints (int4, g128) reduces memory.",
    "Emoji 🤖 and snowmen ☃ are unknown; so is xqzvbnmwrtplk.",
    "中文 tokens 和 numbers 12345 mix with English.",
]

TOKENIZER_CASES = [
    "Hello, world!",
    "don't stop-believing...",
    "Café naïve RÉSUMÉ",
    "unaffable",
    "🤖 ☃",
    "中文abc",
    "tab\there\nnewline\u200bzero-width",
]


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n)); data = f.read()
    out = {}
    for name, m in header.items():
        if name == '__metadata__' or m['dtype'] not in ('F32', 'F16', 'BF16'):
            continue
        a, b = m['data_offsets']; raw = data[a:b]
        if m['dtype'] == 'F32':
            w = np.frombuffer(raw, '<f4')
        elif m['dtype'] == 'F16':
            w = np.frombuffer(raw, '<f2').astype(np.float32)
        else:
            w = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)
        out[name] = w.reshape(m['shape']).astype(np.float32)
    return out


# ---- tokenizer (transformers BasicTokenizer + WordpieceTokenizer) ----

def is_whitespace(ch):
    if ch in (' ', '\t', '\n', '\r'):
        return True
    return unicodedata.category(ch) == 'Zs'


def is_control(ch):
    if ch in ('\t', '\n', '\r'):
        return False
    return unicodedata.category(ch).startswith('C')


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class Tokenizer:
    def __init__(self, vocab_path, lower=True, strip_accents=None):
        self.vocab = {}
        with open(vocab_path, encoding='utf-8') as f:
            for i, line in enumerate(f):
                tok = line.rstrip('\n')
                self.vocab.setdefault(tok, i)
        self.lower = lower
        self.strip = lower if strip_accents is None else strip_accents

    def basic(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or is_control(ch):
                continue
            if is_whitespace(ch):
                out.append(' ')
            elif is_cjk(cp):
                out += [' ', ch, ' ']
            else:
                out.append(ch)
        words = []
        for tok in ''.join(out).split():
            if self.lower:
                tok = tok.lower()
            if self.strip:
                tok = ''.join(c for c in unicodedata.normalize('NFD', tok) if unicodedata.category(c) != 'Mn')
            cur = ''
            for c in tok:
                if is_punctuation(c):
                    if cur:
                        words.append(cur); cur = ''
                    words.append(c)
                else:
                    cur += c
            if cur:
                words.append(cur)
        return ' '.join(words).split()

    def wordpiece(self, word):
        if len(word) > 100:
            return ['[UNK]']
        pieces, start = [], 0
        while start < len(word):
            end, cur = len(word), None
            while start < end:
                s = word[start:end]
                if start > 0:
                    s = '##' + s
                if s in self.vocab:
                    cur = s; break
                end -= 1
            if cur is None:
                return ['[UNK]']
            pieces.append(cur); start = end
        return pieces

    def tokenize(self, text):
        return [p for w in self.basic(text) for p in self.wordpiece(w)]

    def encode(self, text, max_len=512):
        ids = [self.vocab[t] for t in self.tokenize(text)][:max_len - 2]
        return [self.vocab['[CLS]']] + ids + [self.vocab['[SEP]']]


# ---- BERT ----

def layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def erf(x):
    # vectorised math.erf (numpy has no erf); float64 then back to float32
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(np.float32)


def bert_hidden(W, cfg, ids):
    D, H = cfg['hidden_size'], cfg['num_attention_heads']; hd = D // H; eps = cfg['layer_norm_eps']
    T = len(ids)
    x = W['embeddings.word_embeddings.weight'][ids] + W['embeddings.position_embeddings.weight'][:T] + W['embeddings.token_type_embeddings.weight'][0]
    x = layer_norm(x, W['embeddings.LayerNorm.weight'], W['embeddings.LayerNorm.bias'], eps)
    for l in range(cfg['num_hidden_layers']):
        p = 'encoder.layer.%d.' % l
        lin = lambda h, n: h @ W[p + n + '.weight'].T + W[p + n + '.bias']
        q = lin(x, 'attention.self.query').reshape(T, H, hd).transpose(1, 0, 2)
        k = lin(x, 'attention.self.key').reshape(T, H, hd).transpose(1, 0, 2)
        v = lin(x, 'attention.self.value').reshape(T, H, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(hd))
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(T, D)
        x = layer_norm(x + lin(o, 'attention.output.dense'), W[p + 'attention.output.LayerNorm.weight'], W[p + 'attention.output.LayerNorm.bias'], eps)
        h = lin(x, 'intermediate.dense')
        h = 0.5 * h * (1 + erf(h / np.float32(math.sqrt(2))))
        x = layer_norm(x + lin(h, 'output.dense'), W[p + 'output.LayerNorm.weight'], W[p + 'output.LayerNorm.bias'], eps)
    return x.astype(np.float32)


def pooling_config(folder):
    mode, normalize = 'mean', False
    mpath = os.path.join(folder, 'modules.json')
    if os.path.exists(mpath):
        for m in json.load(open(mpath)):
            if m['type'].endswith('models.Normalize'):
                normalize = True
            if m['type'].endswith('models.Pooling'):
                c = json.load(open(os.path.join(folder, m['path'], 'config.json')))
                mode = 'cls' if c.get('pooling_mode_cls_token') else 'max' if c.get('pooling_mode_max_tokens') else 'mean'
    return mode, normalize


def embed(W, cfg, ids, mode, normalize):
    h = bert_hidden(W, cfg, ids).astype(np.float64)
    mask = np.ones(len(ids))  # single unpadded sentence: the attention mask is all ones
    e = h[0] if mode == 'cls' else h.max(0) if mode == 'max' else (h * mask[:, None]).sum(0) / mask.sum()
    if normalize:
        e = e / max(np.linalg.norm(e), 1e-12)
    return e.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'models', 'all-MiniLM-L6-v2'))
    ap.add_argument('--out', default=None)
    ap.add_argument('--check-tokenizers', action='store_true', help='compare ids with the `tokenizers` package on tokenizer.json')
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, 'config.json')))
    tc = json.load(open(os.path.join(a.model, 'tokenizer_config.json'))) if os.path.exists(os.path.join(a.model, 'tokenizer_config.json')) else {}
    tok = Tokenizer(os.path.join(a.model, 'vocab.txt'), tc.get('do_lower_case', True), tc.get('strip_accents'))
    W = load_safetensors(os.path.join(a.model, 'model.safetensors'))
    mode, normalize = pooling_config(a.model)
    checked = None
    if a.check_tokenizers:
        from tokenizers import Tokenizer as HFTokenizer
        import tokenizers
        hf = HFTokenizer.from_file(os.path.join(a.model, 'tokenizer.json'))
        hf.no_truncation(); hf.no_padding()
        for s in SENTENCES + TOKENIZER_CASES:
            mine, theirs = tok.encode(s), hf.encode(s).ids
            if mine != theirs:
                sys.exit('tokenizer mismatch on %r:\n ours %s\n hf   %s' % (s, mine, theirs))
        checked = 'token ids identical to tokenizers %s (tokenizer.json) on all %d texts' % (tokenizers.__version__, len(SENTENCES) + len(TOKENIZER_CASES))
        print(checked, file=sys.stderr)
    res = {
        'model': os.path.basename(os.path.normpath(a.model)),
        'generated_by': 'python3 scripts/minilm_reference.py --model ../shared/models/all-MiniLM-L6-v2 --out Tests/RuntimeTests/Fixtures/minilm_reference.json --check-tokenizers',
        'numpy': np.__version__,
        'pooling': {'mode': mode, 'normalize': normalize},
        'tokenizer_cross_check': checked,
        'tokenizer_cases': [{'text': s, 'tokens': tok.tokenize(s), 'ids': tok.encode(s)} for s in TOKENIZER_CASES],
        'sentences': [],
    }
    for s in SENTENCES:
        ids = tok.encode(s)
        e = embed(W, cfg, ids, mode, normalize)
        res['sentences'].append({'text': s, 'ids': ids, 'embedding': [float('%.8g' % v) for v in e]})
    text = json.dumps(res, indent=1, ensure_ascii=False)
    if a.out:
        with open(a.out, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
    else:
        print(text)


if __name__ == '__main__':
    main()
