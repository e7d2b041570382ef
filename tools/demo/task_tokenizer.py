"""The demo model's tokenizer: a small byte-level BPE in the Qwen2 tokenizer.json layout, trained
on the training split's prompts, and an encoder for the training script.

The files it writes are read by vkmoe's own tokenizer; the encoder here only has to agree with
it on the demo's text, which is ASCII. For ASCII the Qwen2 pre-tokenizer regex needs no Unicode
classes (\\p{L} is [A-Za-z], \\p{N} is [0-9]), so Python's `re` runs it exactly.
"""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import make_tokenizer  # noqa: E402  (train_bpe, qwen2_tokenizer, bytes_to_unicode, write)

ASCII_QWEN2 = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|'S|'T|'RE|'VE|'M|'LL|'D"
                         r"|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*"
                         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LABEL_WORDS = [" A", " B", " C", " D"]


def words(text):
    if not text.isascii():
        raise ValueError(f"demo text must be ASCII: {text!r}")
    return ASCII_QWEN2.findall(text)


def train(texts, vocab_size):
    """(vocab, merges) from the texts; every answer label (" A" ... " D") is one token."""
    counts = collections.Counter()
    for t in texts:
        counts.update(words(t))
    vocab, merges = make_tokenizer.train_bpe(counts, vocab_size)
    byte_map = make_tokenizer.bytes_to_unicode()
    for label in LABEL_WORDS:
        spelled = "".join(byte_map[b] for b in label.encode())
        if spelled not in vocab:
            raise SystemExit(f"the label {label!r} did not become one token; raise the vocab size")
    return vocab, merges


def write(directory, vocab, merges):
    tokenizer = make_tokenizer.qwen2_tokenizer(vocab, merges)
    make_tokenizer.write(os.path.join(directory, "tokenizer.json"), tokenizer)
    return tokenizer


class Encoder:
    """Byte-level BPE by merge rank, as tokenizers' BPE model applies merges."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.rank = {tuple(m): i for i, m in enumerate(merges)}
        self.byte_map = make_tokenizer.bytes_to_unicode()
        self.cache = {}

    def _word(self, word):
        if word in self.cache:
            return self.cache[word]
        symbols = [self.byte_map[b] for b in word.encode()]
        while len(symbols) > 1:
            pairs = [(self.rank.get((a, b), 1 << 30), i)
                     for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            best, i = min(pairs)
            if best == 1 << 30:
                break
            symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
        ids = [self.vocab[s] for s in symbols]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        return [i for w in words(text) for i in self._word(w)]
