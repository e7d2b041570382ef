#!/usr/bin/env python3
"""Trains the two small byte-level BPE tokenizers in assets/tokenizer/ (standard library only).

    python3 tools/make_tokenizer.py [--out assets/tokenizer] [--seed 1234]

writes
  assets/tokenizer/tokenizer.json           Qwen2 layout: NFC, Split(Qwen2 regex, Isolated) +
                                            ByteLevel(use_regex false), merges as "a b" strings,
                                            <|endoftext|> <|im_start|> <|im_end|>
  assets/tokenizer/deepseek/tokenizer.json  DeepSeek-LLM/MoE layout: no normalizer, the Sequence
                                            of six Split regexes + ByteLevel, merges as ["a", "b"]
                                            pairs, BOS added by a TemplateProcessing post-processor,
                                            non-special "normalized" added tokens like DeepSeek's

The corpus is generated here from a seed (English-like prose, numbers, code, accented Latin,
Greek, Cyrillic, Arabic, Devanagari, CJK, kana, Hangul, emoji), so merges exist for all of
them. Python's `re` has no \\p{L}; training pre-tokenizes with close approximations built from
\\w, which only decides which merges are learnt. How the files tokenize is defined by the
regexes written into them, which the C++ loader and the npm packages implement exactly.
"""

import argparse
import collections
import json
import os
import random
import re

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# DeepSeek-LLM / DeepSeek-MoE tokenizer.json Split patterns, in order. Three Greek Extended
# range ends and three letters (U+1FBE, U+2126, U+212A) are written as escapes: an editor or
# copy that NFC-normalizes this file would otherwise turn them into other characters (and
# make ranges run backwards).
DEEPSEEK_PATTERNS = [
    "[\r\n]",
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1"
    "\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd"
    "\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d"
    "\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4"
    "\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec"
    "\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128"
    "\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b"
    "\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787"
    "\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a"
    "\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2"
    "\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
    "\\s+$",
    "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
    "\\p{N}+",
]

# --- corpus ---------------------------------------------------------------------------------

WORDS = """the of and to in is that for it as with was on be by this are from at or an have not
which but all were can their one has more also its been other when two time first new some
would these may used into only over most after between such many model expert layer token
data value system number example large small network training result method function test
people water light sound music river mountain city house school garden window letter paper
question answer choice science energy planet animal forest weather morning evening summer
winter because through during before without within against among around under above below
quickly slowly carefully simply really always often never sometimes together probably
""".split()
NAMES = "Alice Bob Carol David Emma Frank Grace Henry Iris Jack Karen Leo Mia Noah Olivia".split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'T"]
ACCENTED = ("café naïve résumé façade über Straße Müller größer déjà vu São Paulo señor año "
            "niño crème brûlée Ærø Øresund Åland Ångström Kraków Łódź Dvořák Čapek Ğüzel "
            "İstanbul Thành phố Hồ Chí Minh Nguyễn tiếng Việt").split()
GREEK = "Καλημέρα κόσμε η γλώσσα είναι ωραία Αθήνα θάλασσα ήλιος ουρανός".split()
CYRILLIC = "Привет мир это пример текста Москва Россия язык книга вода город".split()
ARABIC = "مرحبا بالعالم هذا مثال للنص العربي كتاب ماء مدينة".split()
DEVANAGARI = "नमस्ते दुनिया यह हिंदी पाठ का उदाहरण है पानी शहर किताब".split()
CHINESE = ("你好世界 这是一个例子 我们今天学习机器学习 模型的参数很多 数据集 专家混合模型 "
           "中文文本 天气很好 北京 上海 问题和答案 计算机科学 人工智能").split()
JAPANESE = "こんにちは世界 これは日本語の文章です カタカナ テスト ありがとう 東京 ひらがな".split()
KOREAN = "안녕하세요 세계 한국어 문장입니다 감사합니다 서울 학교 컴퓨터".split()
EMOJI = ["😀", "😂", "🥲", "❤️", "👍", "👍🏽", "🎉", "🚀", "🌍", "🔥", "✨", "🤖", "👩‍💻",
         "👨‍👩‍👧", "🏳️‍🌈", "🇯🇵", "🇫🇷", "☕", "⭐", "✅"]
CODE = [
    "def forward(self, x):\n    h = self.norm(x)\n    return self.proj(h) + x\n",
    "for (int i = 0; i < n; ++i) {\n  sum += a[i] * b[i];\n}\n",
    "if __name__ == \"__main__\":\n    main()\n",
    "#include <vector>\nstd::vector<float> weights(1024, 0.0f);\n",
    "const auto it = std::find(v.begin(), v.end(), 42);\n",
    "SELECT name, count(*) FROM tokens WHERE id > 100 GROUP BY name;\n",
    "x = [i ** 2 for i in range(10) if i % 2 == 0]\n",
    "return {\"ids\": ids, \"mask\": [1] * len(ids)}\n",
    "\tprintf(\"%d tokens/s\\n\", rate);\n",
    "let total: u64 = items.iter().map(|x| x.len() as u64).sum();\n",
]


def sentence(rng):
    n = rng.randint(4, 14)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.5:
        words[rng.randrange(n)] = rng.choice(NAMES) + rng.choice(CONTRACTIONS)
    if rng.random() < 0.3:
        words.insert(rng.randrange(n), str(rng.randint(0, 99999)))
    words[0] = words[0].capitalize()
    text = " ".join(words)
    return text + rng.choice([".", ".", ".", "!", "?", ",", ";", ":"])


def number_line(rng):
    forms = [
        lambda: f"{rng.randint(1900, 2030)}",
        lambda: f"{rng.random() * 1000:.3f}",
        lambda: f"{rng.randint(1, 99)}%",
        lambda: f"${rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
        lambda: f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1990, 2030)}",
        lambda: f"{rng.randint(0, 999)} + {rng.randint(0, 999)} = {rng.randint(0, 1999)}",
        lambda: f"+1-{rng.randint(200, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"3.14159 2.71828 1e-{rng.randint(1, 12)}",
    ]
    return " ".join(rng.choice(forms)() for _ in range(rng.randint(1, 4)))


def foreign_line(rng):
    pool = rng.choice([ACCENTED, GREEK, CYRILLIC, ARABIC, DEVANAGARI])
    return " ".join(rng.choice(pool) for _ in range(rng.randint(3, 9))) + rng.choice([".", "!", ""])


def cjk_line(rng):
    pool = rng.choice([CHINESE, JAPANESE, KOREAN])
    sep = "" if pool is not KOREAN else " "
    return sep.join(rng.choice(pool) for _ in range(rng.randint(2, 6))) + rng.choice(["。", "！", "？", ""])


def emoji_line(rng):
    parts = []
    for _ in range(rng.randint(2, 8)):
        parts.append(rng.choice(EMOJI) if rng.random() < 0.5 else rng.choice(WORDS))
    return " ".join(parts)


def make_corpus(rng, documents=5000):
    makers = [(sentence, 10), (number_line, 2), (foreign_line, 3), (cjk_line, 3), (emoji_line, 1),
              (lambda r: r.choice(CODE), 2)]
    weights = [w for _, w in makers]
    docs = []
    for _ in range(documents):
        lines = [rng.choices(makers, weights)[0][0](rng) for _ in range(rng.randint(1, 4))]
        docs.append(rng.choice(["\n", " ", "\n\n"]).join(lines))
    return docs


# --- pre-tokenization used for training (approximations, see the module docstring) ----------

LETTER = r"[^\W\d_]"
NOT_LETTER_OR_DIGIT = r"[\W_]"
QWEN2_APPROX = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    rf"|(?:(?![\r\n]){NOT_LETTER_OR_DIGIT})?{LETTER}+"
    r"|\d"
    rf"| ?(?:(?!\s){NOT_LETTER_OR_DIGIT})+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def split_isolated(pieces, pattern):
    out = []
    for piece in pieces:
        prev = 0
        for m in pattern.finditer(piece):
            if m.start() > prev:
                out.append(piece[prev:m.start()])
            if m.end() > m.start():
                out.append(m.group(0))
            prev = m.end()
        if prev < len(piece):
            out.append(piece[prev:])
    return out


DEEPSEEK_APPROX = [re.compile(p.replace("\\p{N}", "\\d")) for p in DEEPSEEK_PATTERNS]


def words_qwen2(text):
    return QWEN2_APPROX.findall(text)


def words_deepseek(text):
    pieces = [text]
    for pattern in DEEPSEEK_APPROX:
        pieces = split_isolated(pieces, pattern)
    return pieces


# --- byte-level BPE training -----------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe(word_counts, vocab_size):
    """Classic BPE: merge the most frequent adjacent pair until the vocabulary is full.

    Ties go to the lexicographically largest pair, so the result depends only on the corpus.
    """
    byte_map = bytes_to_unicode()
    alphabet = [byte_map[b] for b in sorted(byte_map, key=lambda b: ord(byte_map[b]))]
    vocab = {tok: i for i, tok in enumerate(alphabet)}
    words = [[byte_map[b] for b in w.encode("utf-8")] for w in word_counts]
    counts = list(word_counts.values())

    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words holding it
    for i, symbols in enumerate(words):
        for a, b in zip(symbols, symbols[1:]):
            pair_counts[(a, b)] += counts[i]
            where[(a, b)].add(i)

    merges = []
    while len(vocab) < vocab_size and pair_counts:
        (a, b), count = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))
        if count < 2:
            break
        merged = a + b
        merges.append((a, b))
        vocab.setdefault(merged, len(vocab))
        for i in list(where[(a, b)]):
            symbols = words[i]
            c = counts[i]
            for x, y in zip(symbols, symbols[1:]):
                pair_counts[(x, y)] -= c
                if pair_counts[(x, y)] <= 0:
                    del pair_counts[(x, y)]
                where[(x, y)].discard(i)
            out = []
            j = 0
            while j < len(symbols):
                if j + 1 < len(symbols) and symbols[j] == a and symbols[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(symbols[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pair_counts[(x, y)] += c
                where[(x, y)].add(i)
        pair_counts.pop((a, b), None)
    return vocab, merges


def added(token_id, content, special=True, normalized=False):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": normalized, "special": special}


def byte_level(use_regex=False):
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
            "use_regex": use_regex}


def split(pattern):
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def model(vocab, merges, pair_format):
    return {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
            "ignore_merges": False, "vocab": vocab,
            "merges": [[a, b] for a, b in merges] if pair_format else [f"{a} {b}" for a, b in merges]}


def qwen2_tokenizer(vocab, merges):
    n = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(n, "<|endoftext|>"), added(n + 1, "<|im_start|>"),
                         added(n + 2, "<|im_end|>")],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [split(QWEN2_PATTERN), byte_level()]},
        "post_processor": byte_level(),
        "decoder": byte_level(),
        "model": model(vocab, merges, pair_format=False),
    }


def deepseek_tokenizer(vocab, merges):
    n = len(vocab)
    bos, eos = "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>"
    # Non-special added tokens matched in normalized text, as DeepSeek lists some. (DeepSeek's
    # own are Latin-1 letters such as "õ" that are also byte-level vocabulary spellings; the Rust
    # crate then uses the vocabulary id, the JavaScript port the file's id, so those are left
    # out of what both packages must agree on; tests/loaders/tokenizer_test.cpp covers the rule.)
    extra = [added(n + 2 + i, f"<\uff5cfim\u2581{name}\uff5c>", special=False, normalized=True)
             for i, name in enumerate(["hole", "begin", "end"])]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(n, bos), added(n + 1, eos)] + extra,
        "normalizer": {"type": "Sequence", "normalizers": []},
        "pre_tokenizer": {"type": "Sequence",
                          "pretokenizers": [split(p) for p in DEEPSEEK_PATTERNS] + [byte_level()]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [n], "tokens": [bos]}},
        },
        "decoder": byte_level(),
        "model": model(vocab, merges, pair_format=True),
    }


def write(path, tokenizer):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{path}: {len(tokenizer['model']['vocab'])} tokens, "
          f"{len(tokenizer['model']['merges'])} merges, {os.path.getsize(path)} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "assets", "tokenizer"))
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    docs = make_corpus(random.Random(args.seed))
    for split_words, vocab_size, build, path in [
        (words_qwen2, 3000, qwen2_tokenizer, os.path.join(args.out, "tokenizer.json")),
        (words_deepseek, 2500, deepseek_tokenizer, os.path.join(args.out, "deepseek", "tokenizer.json")),
    ]:
        counts = collections.Counter()
        for doc in docs:
            counts.update(split_words(doc))
        vocab, merges = train_bpe(counts, vocab_size)
        write(os.path.normpath(path), build(vocab, merges))


if __name__ == "__main__":
    main()
