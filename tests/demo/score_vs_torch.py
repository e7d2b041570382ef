#!/usr/bin/env python3
"""`vkmoe score` on a shipped demo model against the probabilities PyTorch gave when the model
was exported (tools/demo/reference_probs.py): the same weights, tokenizer and prompts through an
independent implementation of the Hugging Face Qwen2-MoE forward."""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vkmoe", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--tol", type=float, default=1e-3)
    args = parser.parse_args()
    with open(os.path.join(args.model, "reference_probs.json")) as f:
        ref = json.load(f)
    if ref["data"] != os.path.basename(args.data):
        sys.exit(f"reference_probs.json was made from {ref['data']}, not {args.data}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "preds.jsonl")
        subprocess.run([args.vkmoe, "score", "-m", args.model, "--data", args.data, "--task", "arc",
                        "--limit", str(ref["items"]), "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            preds = [json.loads(line) for line in f]
    if len(preds) != ref["items"]:
        sys.exit(f"vkmoe scored {len(preds)} items, the reference has {ref['items']}")
    worst = 0.0
    for i, (p, q) in enumerate(zip(preds, ref["probabilities"])):
        diff = max(abs(a - b) for a, b in zip(p["probabilities"], q))
        worst = max(worst, diff)
        if diff > args.tol:
            sys.exit(f"item {i}: vkmoe {p['probabilities']} vs PyTorch {q} (tolerance {args.tol})")
    print(f"{len(preds)} items, largest probability difference {worst:.2e} (tolerance {args.tol})")


if __name__ == "__main__":
    main()
