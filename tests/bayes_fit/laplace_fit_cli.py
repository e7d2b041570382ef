"""`vkmoe laplace fit` end to end on a tiny model (issue 6 point 7).

  metadata: fit a tiny ARC file, then open the posterior with json + numpy only
            (tests/bayes/read_posterior.py) and check its metadata, shapes and counts.
  kill:     fit straight; fit again with checkpoints and SIGKILL it once a checkpoint exists;
            resume; the two posterior files must be equal byte for byte.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bayes"))
from read_posterior import read_safetensors  # noqa: E402


def fit(args, out, *extra, check=True):
    cmd = [args.vkmoe, "laplace", "fit", "-m", args.model, "--data", args.data, "--task", "arc",
           "-o", out, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def model_shape(model):
    with open(os.path.join(model, "config.json")) as f:
        c = json.load(f)
    experts = c.get("num_experts", c.get("n_routed_experts"))
    first_dense = c.get("first_k_dense_replace", 0)
    layers = [l for l in range(c["num_hidden_layers"]) if l >= first_dense]
    return c["hidden_size"], c["moe_intermediate_size"], experts, layers


def check_metadata(args, tmp):
    out = os.path.join(tmp, "posterior.safetensors")
    r = fit(args, out, "--rank", "4", "--fisher", "mc", "--seed", "3", "--temperature", "0.5")
    assert "examples/s" in r.stderr and "ETA" in r.stderr, r.stderr
    printed = re.search(r"fingerprint ([0-9a-f]{16})", r.stdout).group(1)
    tensors, meta = read_safetensors(out)
    h, i, experts, layers = model_shape(args.model)
    assert meta["format"] == "vkmoe-bayes-moe-posterior", meta
    assert meta["format_version"] == "1", meta
    assert meta["model_fingerprint"] == printed, (meta, printed)
    assert meta["layers"] == ",".join(map(str, layers)), (meta, layers)
    assert meta["rank"] == "4" and meta["fisher"] == "mc", meta
    assert meta["prior_mean"] == "zero" and meta["lambda_scope"] == "model", meta
    assert tensors["lambda"].shape == (1,) and tensors["lambda"][0] > 0, tensors["lambda"]
    assert abs(tensors["temperature"][0] - 0.5) < 1e-7, tensors["temperature"]
    tokens = 0
    for layer in layers:
        for e in range(experts):
            p = f"layers.{layer}.experts.{e}."
            m = int(tensors[p + "m"][0])
            tokens += m
            r_g = tensors[p + "lg"].shape[0]
            assert tensors[p + "qg"].shape == (h, r_g) and r_g in (0, 4), (p, r_g)
            assert tensors[p + "qa"].shape[0] == i, p
            assert (m == 0) == (r_g == 0), (p, m, r_g)
            assert (tensors[p + "la"] >= -1e-3 * max(1.0, float(abs(tensors[p + "la"]).max(initial=0)))).all()
    assert tokens > 0
    assert not os.path.exists(out + ".checkpoint")
    check_evidence(args, tensors, layers, experts, [0.5])
    # --per-layer: one λ per treated layer.
    fit(args, out, "--rank", "4", "--per-layer")
    tensors, meta = read_safetensors(out)
    assert meta["lambda_scope"] == "layer" and tensors["lambda"].shape == (len(layers),), meta
    check_evidence(args, tensors, layers, experts, [1.0] * len(layers))
    # --layers: only the last MoE layer, with the same factors as in the full fit.
    full, _ = read_safetensors(out)
    last = layers[-1]
    fit(args, out, "--rank", "4", "--per-layer", "--layers", f"{last}-{last}")
    tensors, meta = read_safetensors(out)
    assert meta["layers"] == str(last), meta
    names = sorted(n for n in tensors if n.startswith("layers."))
    assert names == sorted(n for n in full if n.startswith(f"layers.{last}.")), names
    for n in names:
        assert np.array_equal(tensors[n], full[n]), n


def check_evidence(args, tensors, layers, experts, temperatures):
    """λ maximises the evidence with μ₀ = 0: d/dλ log p(D|λ) = 0 is
    λ·Σ_e ‖W_e‖² = Σ_e Σ_ji c_ji/(c_ji + λ), c_ji = λᴳ_j λᴬ_i/(M·T) — with ‖W‖² from the model's
    own file, so the weights the fit read back from the device are checked too."""
    weights, _ = read_safetensors(os.path.join(args.model, "model.safetensors"))
    groups = [layers] if len(temperatures) == 1 else [[l] for l in layers]
    for k, group in enumerate(groups):
        lam = float(tensors["lambda"][k])
        t = float(tensors["temperature"][0])
        distance, occam = 0.0, 0.0
        for layer in group:
            for e in range(experts):
                w = weights[f"model.layers.{layer}.mlp.experts.{e}.down_proj.weight"]
                distance += float((w.astype(np.float64) ** 2).sum())
                p = f"layers.{layer}.experts.{e}."
                m = float(tensors[p + "m"][0])
                if m == 0:
                    continue
                lg = np.maximum(tensors[p + "lg"].astype(np.float64), 0)
                la = np.maximum(tensors[p + "la"].astype(np.float64), 0)
                c = np.outer(lg, la) / (m * t)
                occam += float((c / (c + lam)).sum())
        assert occam > 0 and distance > 0, (group, occam, distance)
        assert abs(lam * distance - occam) <= 1e-4 * occam, (group, lam, lam * distance, occam)


def check_kill(args, tmp):
    data = os.path.join(tmp, "train.jsonl")
    with open(args.data) as f:
        lines = [l for l in f if l.strip()]
    with open(data, "w") as f:
        for k in range(6):
            f.writelines(lines)
    args.data = data
    common = ["--rank", "4", "--fold-every", "2", "--fisher", args.fisher]
    straight = os.path.join(tmp, "straight.safetensors")
    fit(args, straight, *common)

    out = os.path.join(tmp, "killed.safetensors")
    checkpoint = out + ".checkpoint"
    cmd = [args.vkmoe, "laplace", "fit", "-m", args.model, "--data", data, "--task", "arc",
           "-o", out, *common, "--checkpoint-every", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(checkpoint) and proc.poll() is None:
        time.sleep(0.002)
    if proc.poll() is not None:
        sys.exit("the fit finished before it could be killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    assert not os.path.exists(out), "a killed fit left a posterior"
    _, meta = read_safetensors(checkpoint)
    killed_at = int(meta["next_example"])
    assert 0 < killed_at < 6 * len(lines), killed_at

    r = fit(args, out, *common, "--checkpoint-every", "2", "--resume")
    resumed = int(re.search(r"\((\d+) from a checkpoint\)", r.stdout).group(1))
    assert resumed >= killed_at, (resumed, killed_at)
    with open(straight, "rb") as a, open(out, "rb") as b:
        assert a.read() == b.read(), "the resumed posterior differs from the straight one"
    assert not os.path.exists(checkpoint)
    print(f"killed with a checkpoint at example {killed_at}, resumed from {resumed}: identical")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mode", choices=["metadata", "kill"], required=True)
    ap.add_argument("--fisher", default="exact")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (check_metadata if args.mode == "metadata" else check_kill)(args, tmp)


if __name__ == "__main__":
    main()
