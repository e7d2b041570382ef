#!/usr/bin/env python3
"""Writes tiny, seeded Qwen2-MoE and DeepSeek-MoE checkpoints for the whole-model tests.

    /usr/bin/python3 tools/make_tiny_models.py OUT_DIR [--seed 1234] [--assets assets/tokenizer]

OUT_DIR/<name>/          Hugging Face directories: config.json, generation_config.json,
                         tokenizer.json, model.safetensors or shards + model.safetensors.index.json
OUT_DIR/<name>.gguf      GGUF v3 copies (F32, F16, BF16, Q8_0, Q4_0, Q4_K)
OUT_DIR/manifest.json    every model: format, architecture, dtype, layout, which files share
                         weights, what it exercises, and test prompts of length 1, 7 and 64

Deterministic for a given seed and tokenizer files (numpy Generator seeded per weight family);
numpy and the standard library only. The families and files are listed in
tools/tiny_models/variants.py; the independent reader is tests/reference/moe_reference.py.
"""
import argparse
import json
import os
import re
import shutil
import sys
import time
import zlib

sys.dont_write_bytecode = True  # keep tools/ free of __pycache__ when run from the source tree

import numpy as np  # noqa: E402

from tiny_models import gguf_out, safetensors_out, variants, weights  # noqa: E402
from tiny_models.tokenizer_files import Tokenizer  # noqa: E402

DEFAULT_ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "tokenizer")
PROMPT_LENGTHS = (1, 7, 64)


def family_rng(seed, family, stream=0):
    """One independent stream per (seed, family name, purpose), stable across Python runs."""
    return np.random.default_rng([seed, zlib.crc32(family.encode("utf-8")), stream])


def build_family(name, seed, tokenizers):
    cfg, about = variants.FAMILIES[name]
    cfg = dict(cfg)
    tok = tokenizers[cfg["model_type"]]
    cfg["vocab_size"] = -(-tok.size // 64) * 64  # spare rows past the tokenizer, as real models have
    cfg["bos_token_id"] = tok.bos_id
    cfg["eos_token_id"] = tok.eos_id
    cfg["transformers_version"] = "4.40.0"
    cfg = dict(sorted(cfg.items()))
    w = weights.make_weights(cfg, family_rng(seed, name))
    if name in variants.DEAD_EXPERT:
        weights.kill_expert(cfg, w, variants.DEAD_EXPERT[name])
    rng = family_rng(seed, name, 1)
    prompts = {str(n): [int(t) for t in rng.integers(0, tok.size, n)] for n in PROMPT_LENGTHS}
    prompts["64"][10] = 0                          # first and last embedding rows
    prompts["64"][20] = cfg["vocab_size"] - 1
    return {"config": cfg, "weights": w, "about": about, "tokenizer": tok, "prompts": prompts}


def write_hf(out_dir, name, fam, dtype, layout, shards):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    cfg = dict(fam["config"], torch_dtype={"F32": "float32", "BF16": "bfloat16"}[dtype])
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    gen = {"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"],
           "do_sample": False, "transformers_version": cfg["transformers_version"]}
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")
    fam["tokenizer"].write(d)
    w = weights.fused(cfg, fam["weights"]) if layout == "fused" else fam["weights"]
    safetensors_out.write_checkpoint(d, list(w.items()), dtype, shards)


def dir_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--assets", default=DEFAULT_ASSETS,
                    help="folder with tokenizer.json and deepseek/tokenizer.json (a byte-level "
                         "tokenizer is generated for any that is missing)")
    ap.add_argument("--clean", action="store_true", help="remove OUT_DIR first (only one this tool wrote)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    if args.clean and os.path.isdir(args.out_dir) and os.listdir(args.out_dir):
        if not os.path.isfile(os.path.join(args.out_dir, "manifest.json")):
            ap.error(f"--clean: {args.out_dir} has no manifest.json, so this tool did not write it")
        shutil.rmtree(args.out_dir)
    os.makedirs(args.out_dir, exist_ok=True)

    tokenizers = {a: Tokenizer(a, args.assets) for a in ("qwen2_moe", "deepseek")}
    families = {n: build_family(n, args.seed, tokenizers) for n in variants.FAMILIES}
    manifest = {"seed": args.seed, "generator": "tools/make_tiny_models.py",
                "tokenizers": {a: t.source for a, t in tokenizers.items()}, "models": {}}

    def describe(name, fam_name, fmt, dtype, **extra):
        fam = families[fam_name]
        cfg = fam["config"]
        entry = {"path": name, "format": fmt, "arch": cfg["model_type"], "weights": fam_name,
                 "dtype": dtype, "about": fam["about"], "vocab_size": cfg["vocab_size"],
                 "prompts": fam["prompts"]}
        entry.update(extra)
        if fam_name in variants.DEAD_EXPERT:
            entry["nan_expert"] = variants.DEAD_EXPERT[fam_name]
        manifest["models"][name] = entry

    for name, (fam_name, dtype, layout, shards) in variants.HF_MODELS.items():
        write_hf(args.out_dir, name, families[fam_name], dtype, layout, shards)
        describe(name, fam_name, "hf", dtype, layout=layout, shards=shards)
    for name, (fam_name, kind) in variants.GGUF_MODELS.items():
        fam = families[fam_name]
        types = gguf_out.export(os.path.join(args.out_dir, name), fam["config"], fam["weights"],
                                kind, fam["tokenizer"], name[:-len(".gguf")])
        describe(name, fam_name, "gguf", kind, tensor_types=types)

    total = 0
    for name, entry in manifest["models"].items():
        entry["bytes"] = dir_size(os.path.join(args.out_dir, name))
        total += entry["bytes"]
    text = json.dumps(manifest, indent=1, ensure_ascii=False)
    # one line per prompt instead of one line per token id
    text = re.sub(r"\[[\d,\s]+\]", lambda m: "[" + ", ".join(re.findall(r"\d+", m.group(0))) + "]", text)
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        f.write(text + "\n")
    if not args.quiet:
        for name, entry in manifest["models"].items():
            print(f"{entry['bytes'] / 1e6:7.3f} MB  {name}")
        print(f"{total / 1e6:7.3f} MB  total, {time.perf_counter() - start:.2f} s")
        for arch, tok in tokenizers.items():
            print(f"tokenizer {arch}: {tok.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
