#!/usr/bin/env python3
"""Writes the test strings that our tokenizer and the npm tokenizer packages must agree on.

    python3 tools/gen_tokenizer_strings.py [--count 2400] [--seed 7] > tests/tokenizer_npm/strings.jsonl

One JSON string per line (standard library only, seeded). The strings mix Unicode letters and
combining marks (decomposed and precomposed, out-of-order marks, Hangul jamo, composition
exclusions and singletons, so NFC has work to do), digits of several scripts, whitespace runs
of every White_Space character, newlines and CRLF, code, CJK, emoji with ZWJ and modifiers,
contractions, special tokens of both test tokenizers (whole, adjacent and broken), and random
assigned code points.

Code points come only from Unicode 12.1 or older (DerivedAge.txt when /usr/share/unicode has it,
else fixed pools): our tables are Unicode 15.0 (Debian's unicode-data), the npm packages use
their own (ICU in Node, the Rust crates' tables), and characters assigned between those
versions would be classified differently by design, not by a bug.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer as corpus  # noqa: E402  (the training corpus generators)

MAX_AGE = (12, 1)

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PRECOMPOSED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉŁłŒœŠšŸŽžǅǈǋẞßÅΩ"
COMBINING = [chr(c) for c in range(0x300, 0x370)] + ["\u0483", "\u05b0", "\u05bc", "\u064b",
                                                        "\u0650", "\u093c", "\u094d", "\u0e31",
                                                        "\u20dd", "\u20e3", "\u302a", "\u3099"]
DIGITS = ("0123456789" "\u0660\u0661\u0662\u0663\u06f4\u0966\u0967\u0968\u0e51\u0e52"
          "\uff10\uff11\uff19\u00b2\u00b3\u00b9\u00bd\u00bc\u2153\u2160\u2161\u216b\u2460\u2461"
          "\u3007\u4e00\U0001d7ce")
WHITESPACE = [" ", " ", " ", "\t", "\n", "\n", "\r\n", "\r", "\u000b", "\u000c", "\u0085",
              "\u00a0", "\u1680", "\u2000", "\u2003", "\u2009", "\u200a", "\u2028", "\u2029",
              "\u202f", "\u205f", "\u3000"]
FORMAT = ["\u200b", "\u200c", "\u200d", "\u200e", "\u2060", "\ufeff", "\u00ad", "\u061c"]
CONTROL = ["\u0001", "\u001b", "\u007f", "\u0090"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("。、「」『』！？：；（）【】《》…—–‘’“”«»¡¿§¶†•")
SYMBOLS = list("€£¥₹±×÷∑∞≈≠≤≥→⇒←↔♥★☆©®™°µ√∫∂∆∇⊕⊗♪♫☀☂☃✓✗")
EMOJI = corpus.EMOJI + ["1\ufe0f\u20e3", "\U0001f44b\U0001f3ff", "\U0001f9d1\u200d\U0001f52c",
                        "\U0001f1fa\U0001f1f8", "\u2764\ufe0f\u200d", "\U0001f600" * 3]
HANGUL_JAMO = ["\u1100\u1161", "\u1100\u1161\u11a8", "\u1112\u1175\u11ab", "\u110b\u1173\u11af",
               "\uac00\u11a8", "\u1100\u1161\u11a7"]
NFC_CASES = ["e\u0301", "a\u0308", "o\u0302\u0301", "a\u0323\u0307", "a\u0307\u0323",
             "\u212b", "\u2126", "\u212a", "\u0958", "\u0915\u093c", "\u1e9b\u0323",
             "\u0041\u030a", "\u00c5\u0301", "\u0f73", "\u0344", "\u0374", "\u037e",
             "\u1f71", "\u2000", "\u2329", "q\u0307\u0323", "\u0dd9\u0dcf", "\u1025\u102e",
             "\u05d0\u05b7", "\ufb2e", "\U0001d15e"]
CONTRACTION_WORDS = ["don't", "Don'T", "it's", "IT'S", "we're", "WE'RE", "they've", "I'm",
                     "you'll", "YOU'LL", "she'd", "Bob's", "rock'n'roll", "'s", "''", "'ll've",
                     "o'clock", "can't", "ma'am", "'Tis", "dogs'", "l'été", "'\u017f"]
CODE_SNIPPETS = corpus.CODE + [
    "int main(void)\r\n{\r\n\treturn 0;\r\n}\r\n",
    "    if x:\n        pass\n\n\n    else:\n\t\ty = 1  # comment\n",
    "<div class=\"a\">&nbsp;</div>\n",
    "{\"key\": [1, 2.5e-3, null, true], \"ключ\": \"значение\"}",
    "a  =  b   +   c\t\t;",
    "https://example.com/path?q=1&r=%20#frag",
    "x == 0 && y != 1 || z >= 2 ** 3 // 4",
]


def read_assigned_code_points():
    """(code points to draw from, set of every code point allowed) for Unicode <= MAX_AGE.

    The pool leaves out surrogates, controls, noncharacters and most private use.
    """
    path = "/usr/share/unicode/DerivedAge.txt"
    if not os.path.exists(path):
        return None, None
    out = []
    allowed = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            span, age = [p.strip() for p in line.split(";")]
            major, minor = (int(x) for x in age.split("."))
            if (major, minor) > MAX_AGE:
                continue
            first, _, last = span.partition("..")
            lo = int(first, 16)
            hi = int(last or first, 16)
            allowed.update(range(lo, hi + 1))
            for c in range(lo, hi + 1):
                if 0xD800 <= c <= 0xDFFF or c < 0x20 or (c & 0xFFFE) == 0xFFFE or 0xFDD0 <= c <= 0xFDEF:
                    continue
                if 0xE000 <= c <= 0xF8FF or c >= 0xF0000:  # private use: keep a few only
                    if c % 257 != 0:
                        continue
                out.append(c)
    return out, allowed


class Generator:
    def __init__(self, rng, assigned):
        self.rng = rng
        self.assigned = assigned
        self.specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>",
                         "<\uff5cbegin\u2581of\u2581sentence\uff5c>",
                         "<\uff5cend\u2581of\u2581sentence\uff5c>", "<\uff5cfim\u2581hole\uff5c>"]

    def word(self):
        r = self.rng
        kind = r.randrange(10)
        if kind < 4:
            return "".join(r.choice(LATIN) for _ in range(r.randint(1, 9)))
        if kind == 4:
            return r.choice(corpus.WORDS).upper() if r.random() < 0.3 else r.choice(corpus.WORDS)
        if kind == 5:
            return "".join(r.choice(PRECOMPOSED + LATIN) for _ in range(r.randint(1, 6)))
        if kind == 6:
            pool = r.choice([corpus.GREEK, corpus.CYRILLIC, corpus.ARABIC, corpus.DEVANAGARI,
                             corpus.CHINESE, corpus.JAPANESE, corpus.KOREAN, corpus.ACCENTED])
            return r.choice(pool)
        if kind == 7:
            return r.choice(CONTRACTION_WORDS)
        if kind == 8:
            return r.choice(NFC_CASES + HANGUL_JAMO)
        return r.choice(LATIN) + "".join(r.choice(COMBINING) for _ in range(r.randint(1, 3)))

    def atom(self):
        r = self.rng
        kind = r.randrange(20)
        if kind < 7:
            return self.word()
        if kind < 10:
            return "".join(r.choice(WHITESPACE) for _ in range(r.choice([1, 1, 1, 2, 3, 5, 12])))
        if kind == 10:
            return "".join(r.choice(DIGITS) for _ in range(r.randint(1, 8)))
        if kind == 11:
            return "".join(r.choice(PUNCT) for _ in range(r.randint(1, 4)))
        if kind == 12:
            return r.choice(SYMBOLS)
        if kind == 13:
            return r.choice(EMOJI)
        if kind == 14:
            return r.choice(FORMAT + CONTROL)
        if kind == 15:
            s = r.choice(self.specials)
            if r.random() < 0.2:  # broken: a prefix or suffix of a special token
                cut = r.randint(1, len(s) - 1)
                s = s[:cut] if r.random() < 0.5 else s[cut:]
            return s
        if kind == 16 and self.assigned:
            return "".join(chr(r.choice(self.assigned)) for _ in range(r.randint(1, 4)))
        if kind == 17:
            return r.choice(COMBINING)
        if kind == 18:
            return str(r.randint(0, 10 ** r.randint(1, 12)))
        return r.choice(["\n", "\r\n", "\n\n", " \n", "\n ", "\t\n"])

    def mixed(self):
        r = self.rng
        return "".join(self.atom() for _ in range(r.randint(1, 14)))

    def prose(self):
        r = self.rng
        makers = [corpus.sentence, corpus.number_line, corpus.foreign_line, corpus.cjk_line,
                  corpus.emoji_line, lambda g: g.choice(CODE_SNIPPETS)]
        lines = [r.choice(makers)(r) for _ in range(r.randint(1, 3))]
        return r.choice(["\n", " ", "\n\n", "  ", "\r\n"]).join(lines)

    def chat(self):
        r = self.rng
        turns = []
        for role in r.sample(["system", "user", "assistant"], r.randint(1, 3)):
            turns.append(f"<|im_start|>{role}\n{self.prose()}<|im_end|>")
        return "\n".join(turns) + r.choice(["", "\n", "\n<|im_start|>assistant\n"])

    def one(self):
        r = self.rng
        kind = r.randrange(10)
        if kind < 5:
            return self.mixed()
        if kind < 8:
            return self.prose()
        if kind == 8:
            return self.chat()
        return self.rng.choice(CODE_SNIPPETS)


FIXED = [
    "", " ", "  ", "\n", "\n\n\n", "\r\n", " \n ", "\t", "a", "A", "0", "00", "123456789",
    "Hello world", " Hello world", "Hello  world", "Hello world ", "hello\nworld", "x" * 300,
    " " * 200, "\n" * 50 + "x", "\u00e9" * 40, "e\u0301" * 40, "\U0001f600" * 30, "你" * 100,
    "<|endoftext|>", "<|endoftext|><|endoftext|>", "<|im_start|><|im_end|>", "<|endoftext",
    "|endoftext|>", "<<|endoftext|>>", "a<|endoftext|>b", " <|im_start|> ",
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "don't I'm we're they've he'll she'd it's",
    "DON'T I'M WE'RE THEY'VE HE'LL SHE'D IT'S", "'s's's", "''''", "' s", "'\u017f", "'\u017fx",
    "1.5e10 3,000,000 -42 +7 0x1F 0b1010 1_000", "\u00a0\u00a0x\u3000y\u2028z\u2029",
    "\u0085x\u000by\u000cz", "tab\tseparated\tvalues\n", "a\u200db", "\ufeffBOM",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool, allowed = read_assigned_code_points()
    generator = Generator(rng, pool)
    strings = list(FIXED)
    while len(strings) < args.count:
        s = generator.one()
        if allowed is None or all(ord(c) in allowed for c in s):
            strings.append(s)
    for s in strings:
        sys.stdout.write(json.dumps(s, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
