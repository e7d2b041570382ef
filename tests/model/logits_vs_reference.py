#!/usr/bin/env python3
"""One whole-model check: `vkmoe logits --all-positions` against the numpy reference forward
(tests/reference/moe_reference.py) on one of the manifest's prompts of a tiny model.

    logits_vs_reference.py --vkmoe BIN --models DIR --model NAME --prompt {1,7,64} [--tol 1e-3]
                           [--runner PROGRAM]

DIR is what tools/make_tiny_models.py wrote (CTest's fixture). --runner runs BIN through
PROGRAM (the cooperative-matrix runtime's `run`, .ci/coopmat-runtime.sh). Exits 1 when compare_logits.py
does; the outputs of all three steps are printed for the CTest log.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference")


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stdout.write(done.stderr)
    if done.returncode != 0:
        print("failed (exit %d): %s" % (done.returncode, " ".join(cmd)))
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--tol", default="1e-3")
    ap.add_argument("--runner", default=None)
    a = ap.parse_args()
    with open(os.path.join(a.models, "manifest.json")) as f:
        models = json.load(f)["models"]
    if a.model not in models:  # the CTest list and the generator drifted apart
        print("%s is not in the manifest (it has %s)" % (a.model, ", ".join(models)))
        return 1
    entry = models[a.model]
    path = os.path.join(a.models, entry["path"])
    tokens = ",".join(str(t) for t in entry["prompts"][a.prompt])
    with tempfile.TemporaryDirectory(prefix="vkmoe-logits-") as tmp:
        engine, ref = os.path.join(tmp, "engine.npy"), os.path.join(tmp, "reference.npy")
        runner = [a.runner] if a.runner else []
        run(runner + [a.vkmoe, "logits", "-m", path, "--tokens", tokens, "--all-positions", "--out", engine])
        run([sys.executable, "-B", os.path.join(REFERENCE, "moe_reference.py"), path, "--tokens",
             tokens, "--all-positions", "--out", ref])
        run([sys.executable, "-B", os.path.join(REFERENCE, "compare_logits.py"), engine, ref,
             "--tol", a.tol])
    return 0


if __name__ == "__main__":
    sys.exit(main())
