"""`vkmoe demo` end to end on a reduced setting (issue 7 point 5).

  end_to_end: the demo on four tiny Qwen2-MoE models that share a tokenizer (tests/model's
              fixture, standing in for seed0..seed3) and the shipped demo data with tiny limits;
              then its MAP, Bayesian-MoE (glm) and Bayesian-MoE (mc) numbers for every split are
              held to `vkmoe eval --json` on the same model, split, limit, posterior file (the one
              the demo leaves in its out folder), seed and, for mc, the λ the demo chose for it: equal in the demo's JSON, and equal to
              the printed precision in report.html, which must be self-contained.
  errors:     a missing member folder, a missing split file and members with another vocabulary
              are refused before any device work, naming the file at fault.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

KEYS = ("accuracy", "ece", "nll", "brier")
SPLITS = ("test", "ood_shift", "ood_template")
# Same tokenizer (tests/model's qwen2_moe families), different weights and shapes.
MEMBERS = ("qwen2_moe-f32", "qwen2_moe-bf16-fused", "qwen2_moe-h40-top1-norm",
           "qwen2_moe-dense-mid")
LIMITS = {"train": 6, "val": 6, "eval": 5}
SAMPLES, SEED = 2, 3


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def make_models(tiny, root, members):
    os.makedirs(root)
    for k, name in enumerate(members):
        os.symlink(os.path.join(tiny, name), os.path.join(root, f"seed{k}"))
    return root


def demo(args, models, data, out, *extra, check=True):
    return run([args.vkmoe, "demo", "--models", models, "--data", data, "--out", out,
                "--train-limit", str(LIMITS["train"]), "--val-limit", str(LIMITS["val"]),
                "--eval-limit", str(LIMITS["eval"]), "--samples", str(SAMPLES),
                "--seed", str(SEED), *extra], check=check)


def evaluate(args, model, split, posterior, *extra):
    return json.loads(run([args.vkmoe, "eval", "-m", model, "--task", "arc",
                           "--data", os.path.join(args.data, split + ".jsonl"),
                           "--limit", str(LIMITS["eval"]), "--posterior", posterior,
                           "--seed", str(SEED), "--json", *extra]).stdout)


def html_rows(html, split, kind):
    """{method: {metric: printed text}} of one table of report.html."""
    table = re.search(r'<table class="%s" data-split="%s">(.*?)</table>' % (kind, split), html,
                      re.S)
    assert table, (kind, split)
    rows = {}
    for method, cells in re.findall(r'<tr[^>]* data-method="([^"]+)">(.*?)</tr>', table.group(1)):
        rows[method] = dict(re.findall(r'data-metric="([a-z]+)">([^<]+)</td>', cells))
    return rows


def end_to_end(args, tmp):
    models = make_models(args.tiny_models, os.path.join(tmp, "models"), MEMBERS)
    out = os.path.join(tmp, "out")
    r = demo(args, models, args.data, out, "--json")
    report = json.loads(r.stdout)
    posterior = os.path.join(out, "posterior.safetensors")
    assert report["posterior"] == posterior, report["posterior"]
    assert report["train"]["items"] == LIMITS["train"], report["train"]
    assert report["validation"]["items"] == LIMITS["val"], report["validation"]
    assert report["mc_samples"] == SAMPLES and report["seed"] == SEED, report
    assert report["temperature"] > 0 and report["last_layer_lambda"] > 0, report
    # mc chooses its λ on validation from the glm's upward.
    assert report["mc_lambda"] >= report["lambda"][0] * (1 - 1e-6), report
    # Progress on stderr: whole lines (stderr is a pipe here), no carriage returns.
    assert "\r" not in r.stderr, r.stderr
    for stage in ("Bayesian-MoE fit", "MAP forward", "Bayesian-MoE (glm)",
                  "Bayesian-MoE (mc) λ on validation", "Bayesian-MoE (mc)", "deep ensemble"):
        assert re.search(re.escape(stage) + r".*: \d+/\d+ \w+, [0-9.]+ \w+/s", r.stderr), stage
    html_path = os.path.join(out, "report.html")
    with open(html_path, encoding="utf-8") as f:
        html = f.read()
    assert not os.path.exists(html_path + ".tmp")
    # Self-contained: nothing fetched (the SVG namespace is a name, not a fetch).
    for bad in ("<script", "<link", "src=", "url(", "@import"):
        assert bad not in html, bad
    assert set(re.findall(r'https?://[^"\s]+', html)) <= {"http://www.w3.org/2000/svg"}
    assert html.count("<svg") == 2 * len(SPLITS), html.count("<svg")

    assert [s["split"] for s in report["splits"]] == list(SPLITS)
    for s in report["splits"]:
        split, methods = s["split"], s["methods"]
        assert s["items"] == LIMITS["eval"], s
        assert set(methods) == {"map", "temperature", "last_layer_laplace", "deep_ensemble",
                                "bayes_glm", "bayes_mc"}, methods.keys()
        for m in methods.values():
            assert m["n"] == LIMITS["eval"] and all(math.isfinite(m[k]) for k in KEYS), m
        # Temperature scaling never changes the argmax.
        assert methods["temperature"]["accuracy"] == methods["map"]["accuracy"], methods
        # The tiny model has two MoE layers: quarters q2 = {0} and q4 = {1}; q1 and q3 are empty.
        assert list(s["ablation"]) == ["all_layers", "without_q2", "without_q4"], s["ablation"]
        assert s["ablation"]["all_layers"]["nll"] == methods["bayes_glm"]["nll"]

        glm = evaluate(args, os.path.join(models, "seed0"), split, posterior)
        mc = evaluate(args, os.path.join(models, "seed0"), split, posterior, "--predictive", "mc",
                      "--samples", str(SAMPLES), "--prior-precision", repr(report["mc_lambda"]))
        expected = {"map": glm["map"], "bayes_glm": glm["bayes"], "bayes_mc": mc["bayes"]}
        printed = html_rows(html, split, "methods")
        for method, want in expected.items():
            for k in KEYS:
                assert methods[method][k] == want[k], (split, method, k, methods[method][k],
                                                       want[k])
                assert printed[method][k] == "%.4f" % want[k], (split, method, k,
                                                                printed[method][k], want[k])
        assert set(html_rows(html, split, "ablation")) == set(s["ablation"])


def errors(args, tmp):
    def refused(r, *needles):
        assert r.returncode != 0, r
        for n in needles:
            assert n in r.stderr, (n, r.stderr)

    out = os.path.join(tmp, "out")
    three = make_models(args.tiny_models, os.path.join(tmp, "three"), MEMBERS[:3])
    refused(demo(args, three, args.data, out, check=False),
            os.path.join(three, "seed3") + ": no such model folder")
    models = make_models(args.tiny_models, os.path.join(tmp, "models"), MEMBERS)
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    for split in ("train", "validation", "test", "ood_shift"):
        shutil.copy(os.path.join(args.data, split + ".jsonl"), data)
    refused(demo(args, models, data, out, check=False),
            os.path.join(data, "ood_template.jsonl") + ": split file not found")
    other = make_models(args.tiny_models, os.path.join(tmp, "other"),
                        MEMBERS[:3] + ("deepseek-f32",))
    refused(demo(args, other, args.data, out, check=False), os.path.join(other, "seed3"),
            "the ensemble members must share one vocabulary")
    refused(run([args.vkmoe, "demo", "--models", models, "--samples", "0"], check=False),
            "--samples 0")
    assert not os.path.exists(out), "nothing may be written before the inputs are checked"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--tiny-models", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mode", required=True, choices=["end_to_end", "errors"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (end_to_end if args.mode == "end_to_end" else errors)(args, tmp)


if __name__ == "__main__":
    main()
