#!/usr/bin/env python3
"""Writes the seed corpora of the tokenizer and dataset fuzz targets (standard library only):

    python3 tools/gen_tokenizer_fuzz_seeds.py

tests/fuzz/corpus/tokenizer_json_fuzz/    the two asset tokenizers cut down to 300 tokens
tests/fuzz/corpus/tokenizer_encode_fuzz/  the first test strings of tests/tokenizer_npm/
tests/fuzz/corpus/tokenizer_regex_fuzz/   "<pattern>\\n<text>" for the Qwen2, DeepSeek, GPT-2 patterns
tests/fuzz/corpus/dataset_jsonl_fuzz/     the sample files of assets/datasets/
"""
import json
import os
import shutil
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_tokenizer  # noqa: E402

CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SAMPLE = "Hello world's 2024!! \u4f60\u597d caf\u00e9\n\n  def f(x):\n\treturn x  \n"


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def small_tokenizer(path, keep=300):
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab = {t: i for t, i in tok["model"]["vocab"].items() if i < keep}
    merges = []
    for m in tok["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ")
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    tok["model"]["vocab"] = vocab
    tok["model"]["merges"] = merges
    for i, t in enumerate(tok["added_tokens"]):
        t["id"] = keep + i
    if tok.get("post_processor", {}).get("type") == "TemplateProcessing":
        for entry in tok["post_processor"]["special_tokens"].values():
            entry["ids"] = [keep]
    return json.dumps(tok, ensure_ascii=False)


def main():
    for target in ["tokenizer_json_fuzz", "tokenizer_encode_fuzz", "tokenizer_regex_fuzz", "dataset_jsonl_fuzz"]:
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    write("tokenizer_json_fuzz", "qwen2.json", small_tokenizer(os.path.join(ROOT, "assets/tokenizer/tokenizer.json")))
    write("tokenizer_json_fuzz", "deepseek.json",
          small_tokenizer(os.path.join(ROOT, "assets/tokenizer/deepseek/tokenizer.json")))
    with open(os.path.join(ROOT, "tests/tokenizer_npm/strings.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 24:
                break
            write("tokenizer_encode_fuzz", f"s{i:02d}", json.loads(line))
    patterns = [make_tokenizer.QWEN2_PATTERN, *make_tokenizer.DEEPSEEK_PATTERNS,
                r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"]
    for i, p in enumerate(patterns):
        write("tokenizer_regex_fuzz", f"p{i}", p + "\n" + SAMPLE)
    for name in sorted(os.listdir(os.path.join(ROOT, "assets/datasets"))):
        if name.endswith(".jsonl"):
            with open(os.path.join(ROOT, "assets/datasets", name), "rb") as f:
                write("dataset_jsonl_fuzz", name, f.read())


if __name__ == "__main__":
    main()
