#!/usr/bin/env python3
"""`vkmoe run --temp 0` against the argmax continuation `vkmoe logits` gives, step by step.

    run_greedy_check.py --vkmoe BIN --models DIR --model NAME [--steps 4]

Takes the manifest's 7-token prompt of NAME, asks `vkmoe logits --out` for the last position's
logits, appends the argmax, and repeats `--steps` times (stopping at an EOS id of config.json).
Then `vkmoe run --tokens PROMPT -n STEPS --temp 0` must exit 0 and print exactly the tokens'
bytes (prompt and continuation; special tokens print nothing), read from tokenizer.json through
the GPT-2 byte-level alphabet.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def byte_decoder():
    """The inverse of GPT-2's bytes_to_unicode (the ByteLevel pre-tokenizer's alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def token_bytes(tokenizer, ids):
    vocab = {i: t for t, i in tokenizer["model"]["vocab"].items()}
    added = {t["id"]: t for t in tokenizer["added_tokens"]}
    decode = byte_decoder()
    out = b""
    for i in ids:
        if i in added:
            if not added[i]["special"]:
                out += added[i]["content"].encode()
        elif i in vocab:
            out += bytes(decode[c] for c in vocab[i])
    return out


def check(cmd):
    done = subprocess.run(cmd, capture_output=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace"))
        print("failed (exit %d): %s" % (done.returncode, " ".join(cmd)))
        sys.exit(1)
    return done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    with open(os.path.join(a.models, "manifest.json")) as f:
        entry = json.load(f)["models"][a.model]
    path = os.path.join(a.models, entry["path"])
    with open(os.path.join(path, "config.json")) as f:
        eos = json.load(f).get("eos_token_id")
    eos = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
    with open(os.path.join(path, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)

    prompt = list(entry["prompts"]["7"])
    ids = list(prompt)
    with tempfile.TemporaryDirectory(prefix="vkmoe-run-") as tmp:
        out = os.path.join(tmp, "last.npy")
        for _ in range(a.steps):
            check([a.vkmoe, "logits", "-m", path, "--tokens", ",".join(map(str, ids)),
                   "--out", out])
            nxt = int(np.argmax(np.load(out)[-1]))
            if nxt in eos:
                break
            ids.append(nxt)
    done = check([a.vkmoe, "run", "-m", path, "--tokens", ",".join(map(str, prompt)),
                  "-n", str(a.steps), "--temp", "0"])
    expected = token_bytes(tokenizer, ids)
    print("prompt %s, argmax continuation %s" % (prompt, ids[len(prompt):]))
    print("expected %r\nprinted  %r" % (expected, done.stdout))
    sys.stdout.write(done.stderr.decode(errors="replace"))
    if done.stdout != expected:
        print("vkmoe run's greedy output differs from the argmax continuation")
        return 1
    if b"eval time" not in done.stderr or b"load time" not in done.stderr:
        print("vkmoe run printed no timings on stderr")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
