#!/usr/bin/env python3
"""Trains the demo's tiny Qwen2-MoE on the task family until it is accurate and over-confident,
and writes it as a Hugging Face checkpoint (config.json, tokenizer.json, BF16 model.safetensors).

    python3 tools/demo/train_moe.py --data assets/demo/data --out assets/demo/models --seeds 0,1,2,3

Needs PyTorch (Debian: apt-get install python3-torch); vkmoe itself and CI never run this. The
tokenizer is trained once (from the training split, independent of the seed) and shared by all
seeds, so the four models form a deep ensemble over one vocabulary.

The loss is the cross-entropy of the answer label at the scoring position (the token after
"Answer:"), plus a small language-model term on the question tokens and the router balance term.
Training runs far past the point where the training split is learnt, without weight decay: the
usual recipe that leaves a fine-tuned model over-confident off its training data.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import task_tokenizer  # noqa: E402
from qwen2_moe_torch import Qwen2MoeForCausalLM  # noqa: E402
from tiny_models.safetensors_out import write_checkpoint  # noqa: E402
from tiny_models.variants import qwen_config  # noqa: E402

BPE_VOCAB = 384  # byte alphabet (256) + merges; three special tokens follow


def prompt(item):
    """vkmoe's answer-label prompt for ARC-layout items (loaders/prompt_template.cpp)."""
    listed = "".join(f"{label}. {text}\n"
                     for label, text in zip(item["choices"]["label"], item["choices"]["text"]))
    return "Question: " + item["question"] + "\nChoices:\n" + listed + "Answer:"


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def encode_split(items, encoder, label_ids):
    out = []
    for it in items:
        ids = encoder.encode(prompt(it))
        out.append((ids, it["choices"]["label"].index(it["answerKey"])))
    return out


def batches(examples, size, rng):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for start in range(0, len(order), size):
        yield [examples[i] for i in order[start:start + size]]


def pad(batch):
    width = max(len(ids) for ids, _ in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    last = torch.tensor([len(x) - 1 for x, _ in batch])
    for i, (x, _) in enumerate(batch):
        ids[i, :len(x)] = torch.tensor(x)
    return ids, last, torch.tensor([y for _, y in batch])


def answer_logits(model, ids, last, label_ids):
    logits = model(ids)
    at = logits[torch.arange(len(last)), last]
    return logits, at, at[:, label_ids]


def evaluate(model, examples, label_ids):
    """(accuracy, ECE over 15 bins, NLL) of the softmax over the four label logits."""
    model.eval()
    probs, ys = [], []
    with torch.no_grad():
        for start in range(0, len(examples), 256):
            ids, last, y = pad(examples[start:start + 256])
            _, _, choice = answer_logits(model, ids, last, label_ids)
            probs.append(torch.softmax(choice.float(), -1))
            ys.append(y)
    p, y = torch.cat(probs).numpy(), torch.cat(ys).numpy()
    conf, pred = p.max(1), p.argmax(1)
    correct = (pred == y).astype(float)
    bins = np.minimum((conf * 15).astype(int), 14)
    ece = sum(abs(correct[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean()
              for b in range(15) if (bins == b).any())
    nll = -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean()
    model.train()
    return correct.mean(), ece, nll


def config(vocab_size):
    cfg = qwen_config(hidden=128, heads=4, kv_heads=2, layers=4, experts=8, top_k=2, moe_inter=64,
                      shared_inter=128, tie=True)
    cfg.update(vocab_size=(vocab_size + 7) // 8 * 8, bos_token_id=None, eos_token_id=vocab_size - 3,
               max_position_embeddings=256, torch_dtype="bfloat16",
               transformers_version="4.40.0", initializer_range=0.05)
    return cfg


def train_one(cfg, train, splits, label_ids, seed, epochs, lr, log):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = Qwen2MoeForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.98))
    steps = epochs * ((len(train) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    started = time.time()
    for epoch in range(epochs):
        for batch in batches(train, 64, rng):
            ids, last, y = pad(batch)
            logits, _, choice = answer_logits(model, ids, last, label_ids)
            answer = F.cross_entropy(logits[torch.arange(len(last)), last], label_ids[y])
            mask = torch.arange(ids.shape[1] - 1)[None, :] < last[:, None]
            lm = F.cross_entropy(logits[:, :-1][mask], ids[:, 1:][mask])
            loss = answer + 0.2 * lm + 0.01 * model.balance_loss()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if (epoch + 1) % 5 == 0 or epoch + 1 == epochs:
            row = {name: evaluate(model, ex, label_ids) for name, ex in splits.items()}
            text = "  ".join(f"{n} acc {a:.3f} ece {e:.3f} nll {l:.3f}" for n, (a, e, l) in row.items())
            log(f"seed {seed} epoch {epoch + 1} ({time.time() - started:.0f} s): {text}")
    return model


def export(model, cfg, tokenizer_json, directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json, f, ensure_ascii=False, indent=1)
        f.write("\n")
    tensors = [(name, t.detach().float().numpy()) for name, t in model.state_dict().items()]
    write_checkpoint(directory, tensors, "BF16")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(__file__)
    parser.add_argument("--data", default=os.path.join(here, "..", "..", "assets", "demo", "data"))
    parser.add_argument("--out", default=os.path.join(here, "..", "..", "assets", "demo", "models"))
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=5e-4, help="peak of the one-cycle schedule")
    parser.add_argument("--threads", type=int, default=1)  # more threads thrash at this size
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    items = {n: load(os.path.join(args.data, f"{n}.jsonl"))
             for n in ("train", "validation", "test", "ood_shift", "ood_template")}
    texts = [prompt(it) + " " + it["answerKey"] for it in items["train"]]
    vocab, merges = task_tokenizer.train(texts, BPE_VOCAB)
    tokenizer_json = task_tokenizer.write(args.out, vocab, merges)
    encoder = task_tokenizer.Encoder(vocab, merges)
    label_ids = torch.tensor([vocab[task_tokenizer.make_tokenizer.bytes_to_unicode()[32] + label]
                              for label in "ABCD"])
    encoded = {n: encode_split(ex, encoder, label_ids) for n, ex in items.items()}
    cfg = config(len(vocab) + 3)  # three special tokens; rounded up to a multiple of 8
    log_path = os.path.join(args.out, "training_log.txt")

    def log(line):
        print(line, flush=True)
        with open(log_path, "a") as f:
            f.write(line + "\n")

    splits = {n: encoded[n] for n in ("train", "test", "ood_shift", "ood_template")}
    for seed in (int(s) for s in args.seeds.split(",")):
        model = train_one(cfg, encoded["train"], splits, label_ids, seed, args.epochs, args.lr, log)
        export(model, cfg, tokenizer_json, os.path.join(args.out, f"seed{seed}"))


if __name__ == "__main__":
    main()
