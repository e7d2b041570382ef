#!/usr/bin/env python3
"""Writes the benchmark model of `vkmoe bench -m`: a qwen2_moe checkpoint with random weights
at a size where the kernels, not the launch overheads, set the speed.

    /usr/bin/python3 tools/make_bench_model.py OUT_DIR [--seed 7] [--dtype F16]

Shape (issue 5's bench model): vocab 8192, hidden 1024, 8 layers, 16 heads / 4 key-value
heads, 32 routed experts, top-4, expert FFN 512, shared expert FFN 1024; untied lm_head.
About 0.46 B parameters (0.93 GB in F16): generated in the benchmark step, never committed.
Weights come from tools/tiny_models/weights.py (seeded, O(1) activations), so routing spreads
tokens over the experts as a trained model's would, roughly.
"""
import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402

from tiny_models import safetensors_out, variants, weights  # noqa: E402


def bench_config():
    cfg = variants.qwen_config(hidden=1024, heads=16, kv_heads=4, layers=8, experts=32, top_k=4,
                               moe_inter=512, shared_inter=1024, norm_topk_prob=False)
    cfg["vocab_size"] = 8192
    cfg["bos_token_id"] = 1
    cfg["eos_token_id"] = 2
    cfg["transformers_version"] = "4.40.0"
    return dict(sorted(cfg.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dtype", choices=("F16", "BF16", "F32"), default="F16")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    cfg = bench_config()
    w = weights.make_weights(cfg, np.random.default_rng(args.seed))
    os.makedirs(args.out_dir, exist_ok=True)
    cfg["torch_dtype"] = {"F16": "float16", "BF16": "bfloat16", "F32": "float32"}[args.dtype]
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    safetensors_out.write_checkpoint(args.out_dir, list(w.items()), args.dtype)
    params = sum(a.size for a in w.values())
    print(f"{args.out_dir}: {params / 1e6:.1f} M parameters, {args.dtype}, "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
