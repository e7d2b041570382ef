#!/usr/bin/env python3
"""One whole-model backward check: what model_backward_dump writes (g and a of every routing
entry of every MoE layer, engine/model/backward.h) against the float64 numpy reference
(tests/reference/moe_backward_reference.py: finite differences of the reference forward).

    backward_vs_reference.py --dump BIN --models DIR --model NAME --prompt {1,7} [--tol 1e-4]

Entries are matched by (token, expert), so the order of a token's k choices does not matter; the
engine must pick the reference's experts. Per layer the largest |engine − reference| must be
within tol × the largest |reference| of that layer, for g and for a.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "reference"))
import moe_backward_reference  # noqa: E402

ANSWERS = [3, 10, 17, 24]  # four label tokens, the third true (as backward_scale_test.cpp)
TRUTH = 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    with open(os.path.join(a.models, "manifest.json")) as f:
        entry = json.load(f)["models"][a.model]
    path = os.path.join(a.models, entry["path"])
    tokens = entry["prompts"][a.prompt]
    reference, loss = moe_backward_reference.reference_backward(path, tokens, ANSWERS, TRUTH)
    print("%s, %d tokens: reference loss %.6f" % (a.model, len(tokens), loss))

    failed = False
    with tempfile.TemporaryDirectory(prefix="vkmoe-backward-") as tmp:
        done = subprocess.run([a.dump, path, ",".join(map(str, tokens)),
                               ",".join(map(str, ANSWERS)), str(TRUTH), tmp],
                              capture_output=True, text=True)
        sys.stdout.write(done.stdout + done.stderr)
        if done.returncode != 0:
            print("model_backward_dump failed (exit %d)" % done.returncode)
            return 1
        with open(os.path.join(tmp, "meta.json")) as f:
            meta = json.load(f)
        if sorted(m["layer"] for m in meta["layers"]) != sorted(reference):
            print("MoE layers differ: engine %s, reference %s"
                  % ([m["layer"] for m in meta["layers"]], sorted(reference)))
            return 1
        H, I = meta["hidden"], meta["inner"]
        for m in meta["layers"]:
            layer, ref = m["layer"], reference[m["layer"]]
            T, k = ref["ids"].shape
            read = lambda name, dtype: np.fromfile(  # noqa: E731
                os.path.join(tmp, "%s_%d.%s" % (name, layer, "u32" if dtype == np.uint32 else "f32")),
                dtype)
            choices = read("choices", np.uint32).reshape(T, k)
            g = read("g", np.float32).reshape(T, k, H).astype(np.float64)
            act = read("a", np.float32).reshape(T, k, I).astype(np.float64)
            if not (np.sort(choices, axis=1) == np.sort(ref["ids"], axis=1)).all():
                print("layer %d: routing differs\n engine %s\n reference %s"
                      % (layer, choices.tolist(), ref["ids"].tolist()))
                failed = True
                continue
            # The reference's slot of each engine entry: the same token and expert.
            order = np.array([[list(ref["ids"][t]).index(choices[t, j]) for j in range(k)]
                              for t in range(T)])
            ref_g = np.take_along_axis(ref["g"], order[:, :, None], axis=1)
            ref_a = np.take_along_axis(ref["a"], order[:, :, None], axis=1)
            for name, got, want in (("g", g, ref_g), ("a", act, ref_a)):
                scale = np.abs(want).max()
                err = np.abs(got - want).max() / scale
                ok = err <= a.tol
                failed |= not ok
                print("layer %d %s: max |engine - reference| / max |reference| = %.2e "
                      "(max |reference| %.3e, %d entries)%s"
                      % (layer, name, err, scale, T * k, "" if ok else "  > tol %g" % a.tol))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
