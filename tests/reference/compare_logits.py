#!/usr/bin/env python3
"""Compares two logits files (.npy, [positions, vocab]), e.g. the engine's against the reference.

    python3 tests/reference/compare_logits.py ENGINE.npy REFERENCE.npy --tol 1e-3

Prints the max absolute error, the max error relative to the reference's largest |logit|, the
normalised MSE and whether the argmax agrees at every position, per position with --verbose.
Exits 1 when the max absolute error exceeds --tol (or shapes differ, or anything is not
finite), 0 otherwise.
"""
import argparse
import sys

import numpy as np


def compare(a, b):
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    scale = float(np.abs(b).max()) or 1.0
    return {
        "max_abs": float(diff.max()),
        "max_rel": float(diff.max()) / scale,
        "nmse": float((diff ** 2).sum() / max(float((b.astype(np.float64) ** 2).sum()), 1e-300)),
        "argmax_agree": bool((a.argmax(axis=-1) == b.argmax(axis=-1)).all()),
        "per_position": diff.max(axis=-1),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b", help="the reference")
    ap.add_argument("--tol", type=float, required=True, help="max absolute error allowed")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    a, b = np.load(args.a), np.load(args.b)
    if a.ndim == 1:
        a = a[None]
    if b.ndim == 1:
        b = b[None]
    if a.shape != b.shape:
        print(f"FAIL shape {a.shape} vs {b.shape}")
        return 1
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        print(f"FAIL non-finite values: {(~np.isfinite(a)).sum()} in {args.a}, "
              f"{(~np.isfinite(b)).sum()} in {args.b}")
        return 1
    r = compare(a, b)
    ok = r["max_abs"] <= args.tol
    print(f"{'ok' if ok else 'FAIL'} shape {list(a.shape)} max_abs {r['max_abs']:.3e} "
          f"(tol {args.tol:.1e}) max_rel {r['max_rel']:.3e} nmse {r['nmse']:.3e} "
          f"argmax {'agrees' if r['argmax_agree'] else 'DIFFERS'}")
    if args.verbose or not ok:
        worst = np.argsort(-r["per_position"])[:8]
        print("worst positions: " + ", ".join(f"{p}: {r['per_position'][p]:.3e}" for p in worst))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
