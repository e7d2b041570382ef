#!/usr/bin/env python3
"""Answer probabilities of a demo checkpoint computed by PyTorch, for vkmoe to be checked against.

    python3 tools/demo/reference_probs.py assets/demo/models/seed0 \
        --data assets/demo/data/test.jsonl --items 64

reads the checkpoint as written (BF16 weights widened to float32), runs tools/demo's PyTorch
Qwen2-MoE on the first ITEMS questions and writes reference_probs.json beside the weights: the
softmax over the four answer-label logits at the scoring position, per question. Needs PyTorch;
tests/demo compares `vkmoe score` with the file, so CI needs only the file.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import task_tokenizer  # noqa: E402
from qwen2_moe_torch import Qwen2MoeForCausalLM  # noqa: E402
from train_moe import load, prompt  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.frombuffer(data[begin:end], dtype="<u2" if info["dtype"] == "BF16" else "<f4")
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(raw.reshape(info["shape"]).copy())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--items", type=int, default=64)
    args = parser.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.model, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)["model"]
    merges = [tuple(m.split(" ")) for m in tok["merges"]]
    encoder = task_tokenizer.Encoder(tok["vocab"], merges)
    space = task_tokenizer.make_tokenizer.bytes_to_unicode()[32]

    model = Qwen2MoeForCausalLM(cfg)
    model.load_state_dict(read_safetensors(os.path.join(args.model, "model.safetensors")))
    model.eval()
    items = load(args.data)[:args.items]
    probs = []
    with torch.no_grad():
        for it in items:
            ids = torch.tensor([encoder.encode(prompt(it))])
            logits = model(ids)[0, -1]
            labels = [tok["vocab"][space + label] for label in it["choices"]["label"]]
            probs.append(torch.softmax(logits[labels].double(), -1).tolist())
    out = {"data": os.path.basename(args.data), "items": len(items), "probabilities": probs}
    path = os.path.join(args.model, "reference_probs.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"{path}: {len(items)} questions")


if __name__ == "__main__":
    main()
