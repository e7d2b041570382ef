#!/usr/bin/env python3
"""The demo's task family: four-way multiple-choice questions a tiny MoE can learn, written as
ARC JSONL (the layout `vkmoe score --task arc` and `vkmoe demo` read). Standard library only.

    python3 tools/demo/make_tasks.py [--out assets/demo/data] [--seed 2026]

Four skills share one template family: the largest and the smallest of four numbers, the one
even number among four, and the next term of a repeating pattern ("12, 34, 12, 34, 12, ...").
All four are comparisons or copies a four-layer model learns from a few thousand examples
(sums and arithmetic sequences were tried first: at this size and data they stay at chance).
Splits:

  train.jsonl, validation.jsonl, test.jsonl   in distribution: two-digit operands, template A
  ood_shift.jsonl                              the same template, operands 100-399 (shifted inputs)
  ood_template.jsonl                           two-digit operands, differently worded questions

The three in-distribution splits are disjoint (no question text appears in two of them).
A pattern's wrong choices are its other term and near misses of the answer (off by one, two or
ten), so the answer cannot be told by its size.
"""

import argparse
import json
import os
import random

LABELS = ["A", "B", "C", "D"]
ID_RANGE = (10, 99)
SHIFT_RANGE = (100, 399)

# Template A is what the model is trained on; template B only appears in ood_template.
TEMPLATES = {
    "A": {
        "largest": "Which number is the largest: {xs}?",
        "smallest": "Which number is the smallest: {xs}?",
        "even": "Which number is even: {xs}?",
        "pattern": "What comes next: {xs}, ...?",
    },
    "B": {
        "largest": "Of {xs}, pick the biggest one.",
        "smallest": "Of {xs}, pick the least one.",
        "even": "Of {xs}, pick the one divisible by two.",
        "pattern": "The pattern {xs} continues with?",
    },
}


def near_misses(rng, answer, count, low):
    """`count` distinct wrong answers close to `answer` (never below `low`)."""
    offsets = [-10, -2, -1, 1, 2, 10]
    rng.shuffle(offsets)
    out = []
    for d in offsets:
        if answer + d >= low and answer + d not in out:
            out.append(answer + d)
        if len(out) == count:
            break
    return out


def question(rng, skill, template, lo, hi):
    """(question text, choices as ints, index of the right one)."""
    words = TEMPLATES[template][skill]
    if skill in ("largest", "smallest"):
        xs = rng.sample(range(lo, hi + 1), 4)
        answer = max(xs) if skill == "largest" else min(xs)
        choices = list(xs)
    elif skill == "even":
        odd = [x for x in range(lo, hi + 1) if x % 2]
        answer = rng.choice([x for x in range(lo, hi + 1) if x % 2 == 0])
        xs = rng.sample(odd, 3) + [answer]
        rng.shuffle(xs)
        choices = list(xs)
    else:  # the next term of an alternating pattern x y x y x
        x, y = rng.sample(range(lo, hi + 1), 2)
        xs = [x, y, x, y, x]
        answer = y
        choices = [y, x] + [c for c in near_misses(rng, y, 4, lo) if c != x][:2]
    text = words.format(xs=", ".join(str(v) for v in xs))
    rng.shuffle(choices)
    return text, choices, choices.index(answer)


def item(uid, text, choices, right):
    return {"id": uid, "question": text,
            "choices": {"text": [str(c) for c in choices], "label": LABELS},
            "answerKey": LABELS[right]}


def make_split(rng, name, count, template, value_range, seen):
    """`count` items whose question texts are not in `seen` (which then holds them too)."""
    skills = ["largest", "smallest", "even", "pattern"]
    out = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 100 * count:
            raise SystemExit(f"{name}: cannot find {count} distinct questions")
        skill = skills[len(out) % len(skills)]
        text, choices, right = question(rng, skill, template, *value_range)
        if text in seen:
            continue
        seen.add(text)
        out.append(item(f"{name}_{len(out)}", text, choices, right))
    return out


def write_jsonl(path, items):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    print(f"{path}: {len(items)} questions")


SPLITS = [  # name, count, template, operand range
    ("train", 4000, "A", ID_RANGE),
    ("validation", 500, "A", ID_RANGE),
    ("test", 1000, "A", ID_RANGE),
    ("ood_shift", 1000, "A", SHIFT_RANGE),
    ("ood_template", 1000, "B", ID_RANGE),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                      "assets", "demo", "data"))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seen = set()
    for name, count, template, value_range in SPLITS:
        rng = random.Random(f"{args.seed}/{name}")
        write_jsonl(os.path.join(args.out, f"{name}.jsonl"),
                    make_split(rng, name, count, template, value_range, seen))


if __name__ == "__main__":
    main()
