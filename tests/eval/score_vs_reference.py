#!/usr/bin/env python3
"""End-to-end check of `vkmoe score` against the numpy reference forward.

    score_vs_reference.py --vkmoe BIN --model DIR --data FILE.jsonl
                          --task arc|obqa|boolq|winogrande|mmlu
                          --scoring labels|continuation [--tol 1e-4]

Runs `vkmoe score --json --out preds.jsonl`, then, sharing no code with the engine:
1. builds every item's texts from the JSONL itself (the prompt templates of
   loaders/prompt_template.h, written again here) and checks that the token ids vkmoe recorded
   decode to exactly those texts with the model folder's tokenizer.json (byte-level vocabulary);
   tokenization itself is checked against the Hugging Face tokenizers elsewhere
   (tests/loaders/tokenizer_npm_test.cpp);
2. recomputes every class score from tests/reference/moe_reference.py's float64 logits of a
   fresh prefill per sequence (no KV-cache reuse): label logits, or the summed log-softmax of the
   continuation tokens;
3. recomputes probabilities, accuracy, ECE (15 bins on the top probability, bin b covers
   (b/15, (b+1)/15]), NLL and Brier, and compares them with what vkmoe printed.

Tolerance: the engine's f32 logits agree with the float64 reference to ~1e-5 on these models,
so scores, probabilities and metrics must agree to --tol (1e-4) absolute.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))
import moe_reference  # noqa: E402

BINS = 15
FLOOR = 1e-12  # the NLL's clamp on p_true


def items_with_texts(path, task):
    """[(id, answer, [(context, continuation)], labels_mode_prompt, label_texts)] from the JSONL."""
    out = []
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for number, row in enumerate(rows, 1):
        if task == "arc":
            labels, texts = row["choices"]["label"], row["choices"]["text"]
            answer = labels.index(row["answerKey"])
            listed = "".join(f"{l}. {t}\n" for l, t in zip(labels, texts))
            prompt = f"Question: {row['question']}\nChoices:\n{listed}Answer:"
            pairs = [(f"Question: {row['question']}\nAnswer:", " " + t) for t in texts]
            out.append((row["id"], answer, pairs, prompt, [" " + l for l in labels]))
        elif task == "obqa":
            labels, texts = row["choices"]["label"], row["choices"]["text"]
            listed = "".join(f"{l}. {t}\n" for l, t in zip(labels, texts))
            prompt = f"Question: {row['question_stem']}\nChoices:\n{listed}Answer:"
            out.append((row["id"], labels.index(row["answerKey"]),
                        [(row["question_stem"], " " + t) for t in texts], prompt,
                        [" " + l for l in labels]))
        elif task == "mmlu":
            labels = [chr(ord("A") + i) for i in range(len(row["choices"]))]
            listed = "".join(f"{l}. {t}\n" for l, t in zip(labels, row["choices"]))
            subject = row["subject"].replace("_", " ")
            prompt = (f"The following are multiple choice questions (with answers) about {subject}."
                      f"\n\n{row['question'].strip()}\n{listed}Answer:")
            out.append((str(number), row["answer"], [(prompt, " " + l) for l in labels], prompt,
                        [" " + l for l in labels]))
        elif task == "boolq":
            labels, texts = ["A", "B"], ["no", "yes"]
            listed = "".join(f"{l}. {t}\n" for l, t in zip(labels, texts))
            prompt = f"{row['passage']}\nQuestion: {row['question']}?\nChoices:\n{listed}Answer:"
            context = f"{row['passage']}\nQuestion: {row['question']}?\nAnswer:"
            out.append((str(row["idx"]), row["label"], [(context, " " + t) for t in texts], prompt,
                        [" A", " B"]))
        elif task == "winogrande":
            before, after = row["sentence"].split("_")
            options = [row["option1"], row["option2"]]
            pairs = [(before + o, " " + after.strip()) for o in options]
            out.append((str(number), int(row["answer"]) - 1, pairs, None, None))
        else:
            raise SystemExit(f"this check has no templates for task {task}")
    return out


class ByteLevelDecoder:
    """tokenizer.json ids back to text: GPT-2's byte table inverted; special tokens dropped."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tok = json.load(f)
        self.tokens = {i: t for t, i in tok["model"]["vocab"].items()}
        self.special = set()
        for added in tok["added_tokens"]:
            self.tokens[added["id"]] = added["content"]
            if added["special"]:
                self.special.add(added["id"])
        keep = list(range(33, 127)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
        table, extra = {}, 0
        for b in range(256):
            if b in keep:
                table[chr(b)] = b
            else:
                table[chr(256 + extra)] = b
                extra += 1
        self.byte_of = table

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            if i not in self.special:
                data.extend(self.byte_of[c] for c in self.tokens[i])
        return data.decode("utf-8")


def log_softmax(row):
    top = row.max()
    return row - (top + math.log(np.exp(row - top).sum()))


def softmax(scores):
    e = np.exp(np.asarray(scores) - max(scores))
    return e / e.sum()


def reference_scores(model, record, scoring):
    contexts, continuations = record["contexts"], record["continuations"]
    scores = []
    for c, cont in enumerate(continuations):
        ctx = contexts[c if len(contexts) > 1 else 0]
        if scoring == "labels":
            scores.append(float(moe_reference.logits(model, ctx)[-1][cont[0]]))
        else:
            rows = moe_reference.logits(model, ctx + cont)[len(ctx) - 1:len(ctx) + len(cont) - 1]
            scores.append(float(sum(log_softmax(r)[t] for r, t in zip(rows, cont))))
    return scores


def metrics(probabilities, labels):
    n = len(labels)
    conf_sum, hits, count = [0.0] * BINS, [0.0] * BINS, [0] * BINS
    correct = nll = brier = 0.0
    for p, y in zip(probabilities, labels):
        k = int(np.argmax(p))
        correct += k == y
        nll -= math.log(max(p[y], FLOOR))
        brier += sum((pc - (c == y)) ** 2 for c, pc in enumerate(p))
        b = next((b for b in range(BINS) if p[k] <= (b + 1) / BINS), BINS - 1)
        count[b] += 1
        conf_sum[b] += p[k]
        hits[b] += k == y
    ece = sum(abs(hits[b] / count[b] - conf_sum[b] / count[b]) * count[b] / n
              for b in range(BINS) if count[b])
    return {"accuracy": correct / n, "ece": ece, "nll": nll / n, "brier": brier / n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--task", required=True)
    ap.add_argument("--scoring", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="vkmoe-score-") as tmp:
        preds_path = os.path.join(tmp, "preds.jsonl")
        cmd = [a.vkmoe, "score", "-m", a.model, "--data", a.data, "--task", a.task, "--scoring",
               a.scoring, "--json", "--out", preds_path]
        done = subprocess.run(cmd, capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stdout.write(done.stderr)
        if done.returncode != 0:
            print("failed (exit %d): %s" % (done.returncode, " ".join(cmd)))
            return 1
        summary = json.loads(done.stdout)
        with open(preds_path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]

    failures = []
    items = items_with_texts(a.data, a.task)
    decoder = ByteLevelDecoder(os.path.join(a.model, "tokenizer.json"))
    if len(records) != len(items):
        failures.append(f"{len(records)} records for {len(items)} items")
    worst_score = worst_prob = 0.0
    probabilities, labels = [], []
    for (item_id, answer, pairs, prompt, label_texts), rec in zip(items, records):
        if rec["id"] != item_id or rec["answer"] != answer:
            failures.append(f"record {rec['id']}/{rec['answer']} for item {item_id}/{answer}")
        if a.scoring == "labels":
            expected = [(prompt, t) for t in label_texts]
        else:
            expected = pairs
        for c, (context, continuation) in enumerate(expected):
            ctx = rec["contexts"][c if len(rec["contexts"]) > 1 else 0]
            got = (decoder.decode(ctx), decoder.decode(rec["continuations"][c]))
            if got != (context, continuation):
                failures.append(f"item {item_id} choice {c}: tokens decode to {got!r}, "
                                f"expected {(context, continuation)!r}")
        scores = reference_scores(a.model, rec, a.scoring)
        p = softmax(scores)
        worst_score = max(worst_score, max(abs(x - y) for x, y in zip(scores, rec["scores"])))
        worst_prob = max(worst_prob, max(abs(x - y) for x, y in zip(p, rec["probabilities"])))
        top = sorted(p)[-2:]
        if rec["predicted"] != int(np.argmax(p)) and top[1] - top[0] > a.tol:
            failures.append(f"item {item_id}: predicted {rec['predicted']}, reference "
                            f"{int(np.argmax(p))}")
        probabilities.append(list(p))
        labels.append(answer)

    ref = metrics(probabilities, labels)
    for key in ("task", "scoring"):
        want = {"task": {"obqa": "openbookqa"}.get(a.task, a.task), "scoring": a.scoring}[key]
        if summary[key] != want:
            failures.append(f"{key}: {summary[key]!r}, expected {want!r}")
    if summary["n"] != len(items) or summary["ece_bins"] != BINS:
        failures.append(f"n {summary['n']}, ece_bins {summary['ece_bins']}")
    for key, value in ref.items():
        if abs(summary[key] - value) > a.tol:
            failures.append(f"{key}: vkmoe {summary[key]:.8f}, reference {value:.8f}")
    print(f"max |score - reference| = {worst_score:.3e}, max |p - reference| = {worst_prob:.3e}")
    print("reference metrics: " + ", ".join(f"{k} {v:.6f}" for k, v in ref.items()))
    if worst_score > a.tol or worst_prob > a.tol:
        failures.append(f"scores or probabilities differ by more than {a.tol}")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
