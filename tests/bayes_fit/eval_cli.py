"""`vkmoe eval` end to end on a tiny model (issue 6 point 7).

  map:        the MAP numbers equal `vkmoe score --json` on the same inputs, bit for bit.
  bayes:      with a posterior from `vkmoe laplace fit` the Bayesian-MoE row exists, is finite,
              is reproducible for a seed, the probit link gives another valid row, and --svg
              writes a reliability diagram with a MAP and a Bayesian-MoE panel.
  big_lambda: --prior-precision 1e12 shrinks the logit covariance to ~0: the MAP numbers back.
  other:      a posterior fitted for another model is refused, naming both fingerprints.
  sweep:      --prior-precision A,B,C gives one row per λ, each equal to the run with that λ
              alone (glm and mc), a table in text mode, and --svg with a sweep is refused.
  mc:         --predictive mc (weight samples): a valid row, reproducible for a seed, moved from
              the MAP at the fitted λ; at λ = 1e8 it and glm both give the MAP numbers back.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from xml.etree import ElementTree

KEYS = ("accuracy", "ece", "nll", "brier")


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def evaluate(args, *extra):
    cmd = [args.vkmoe, "eval", "-m", args.model, "--data", args.data, "--task", "arc", "--json",
           *extra]
    return json.loads(run(cmd).stdout)


def fit(args, out):
    run([args.vkmoe, "laplace", "fit", "-m", args.model, "--data", args.data, "--task", "arc",
         "-o", out, "--rank", "4"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--other-model")
    ap.add_argument("--data", required=True)
    ap.add_argument("--mode", required=True, choices=["map", "bayes", "big_lambda", "other", "mc", "sweep"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        post = os.path.join(tmp, "posterior.safetensors")
        if args.mode == "map":
            score = json.loads(run([args.vkmoe, "score", "-m", args.model, "--data", args.data,
                                    "--task", "arc", "--json"]).stdout)
            out = evaluate(args)
            assert "bayes" not in out, out
            assert out["n"] == score["n"] and out["map"]["ece_bins"] == 15, out
            for k in KEYS:
                assert out["map"][k] == score[k], (k, out["map"][k], score[k])
            return
        fit(args, post)
        if args.mode == "bayes":
            out = evaluate(args, "--posterior", post, "--seed", "5")
            b = out["bayes"]
            for k in KEYS:
                assert math.isfinite(b[k]), b
            assert 0 <= b["accuracy"] <= 1 and 0 <= b["ece"] <= 1 and b["nll"] > 0, b
            assert b["predictive"] == "glm" and b["link"] == "mc" and b["n"] == out["n"], b
            assert len(b["lambda"]) == 1 and b["lambda"][0] > 0, b
            again = evaluate(args, "--posterior", post, "--seed", "5")
            assert again["bayes"] == b, (again["bayes"], b)
            # A broad posterior moves the probabilities: the NLL is not the MAP's.
            broad = evaluate(args, "--posterior", post, "--prior-precision", "1e-3")["bayes"]
            assert broad["nll"] != out["map"]["nll"], (broad, out["map"])
            probit = evaluate(args, "--posterior", post, "--link", "probit")["bayes"]
            assert probit["link"] == "probit" and math.isfinite(probit["nll"]), probit
            table = run([args.vkmoe, "eval", "-m", args.model, "--data", args.data, "--task",
                         "arc", "--posterior", post]).stdout
            assert "Bayesian-MoE" in table and "Brier" in table, table
            svg = os.path.join(tmp, "reliability.svg")
            evaluate(args, "--posterior", post, "--svg", svg)
            panels = ElementTree.parse(svg).getroot().findall("{http://www.w3.org/2000/svg}g")
            assert len(panels) == 2, panels
        elif args.mode == "big_lambda":
            out = evaluate(args, "--posterior", post, "--prior-precision", "1e12")
            for k in KEYS:
                assert abs(out["bayes"][k] - out["map"][k]) <= 1e-5, (k, out)
        elif args.mode == "mc":
            out = evaluate(args, "--posterior", post, "--predictive", "mc", "--samples", "8",
                           "--seed", "2")
            b = out["bayes"]
            assert b["predictive"] == "mc" and b["samples"] == 8 and "link" not in b, b
            for k in KEYS:
                assert math.isfinite(b[k]), b
            assert b["nll"] != out["map"]["nll"], (b, out["map"])
            again = evaluate(args, "--posterior", post, "--predictive", "mc", "--samples", "8",
                             "--seed", "2")
            assert again["bayes"] == b, (again["bayes"], b)
            mc = evaluate(args, "--posterior", post, "--predictive", "mc", "--samples", "32",
                          "--prior-precision", "1e8")
            glm = evaluate(args, "--posterior", post, "--prior-precision", "1e8")
            for k in ("nll", "brier"):
                assert abs(mc["bayes"][k] - mc["map"][k]) <= 1e-3, (k, mc)
                assert abs(mc["bayes"][k] - glm["bayes"][k]) <= 1e-3, (k, mc, glm)
        elif args.mode == "sweep":
            lambdas = ["0.01", "3", "1e6"]
            for predictive, samples in (("glm", "200"), ("mc", "2")):
                common = ("--posterior", post, "--predictive", predictive, "--samples", samples,
                          "--seed", "3")
                out = evaluate(args, *common, "--prior-precision", ",".join(lambdas))
                assert "bayes" not in out and len(out["sweep"]) == 3, out
                for lam, row in zip(lambdas, out["sweep"]):
                    alone = evaluate(args, *common, "--prior-precision", lam)["bayes"]
                    assert row == alone, (predictive, lam, row, alone)
                    assert row["lambda"] == [float(lam)], row
                # The rows differ: λ moves the predictive.
                assert out["sweep"][0]["nll"] != out["sweep"][2]["nll"], out
            table = run([args.vkmoe, "eval", "-m", args.model, "--data", args.data, "--task",
                         "arc", "--posterior", post, "--prior-precision", "0.01,3"]).stdout
            rows = [line.split()[0] for line in table.splitlines()[3:]]
            assert rows == ["lambda", "MAP", "0.01", "3"], table
            r = run([args.vkmoe, "eval", "-m", args.model, "--data", args.data, "--task", "arc",
                     "--posterior", post, "--prior-precision", "1,2", "--svg", "x.svg"],
                    check=False)
            assert r.returncode != 0 and "one --prior-precision" in r.stderr, r
        else:
            r = run([args.vkmoe, "eval", "-m", args.other_model, "--data", args.data, "--task",
                     "arc", "--posterior", post], check=False)
            assert r.returncode != 0, r
            assert "fingerprint" in r.stderr and "fit a posterior for this model" in r.stderr, \
                r.stderr


if __name__ == "__main__":
    main()
