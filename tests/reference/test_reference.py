"""Self-checks of the tiny-model generator and the numpy reference, without the engine.

    /usr/bin/python3 -B -m unittest discover tests/reference

Uses the models in $VKMOE_TINY_MODELS when set (the build's copy), otherwise generates them
into a temporary folder with tools/make_tiny_models.py (under a second).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GENERATOR = os.path.join(ROOT, "tools", "make_tiny_models.py")
sys.path.insert(0, HERE)
import compare_logits  # noqa: E402
import ggml_dequant  # noqa: E402
import hf_checkpoint  # noqa: E402
import moe_reference as ref  # noqa: E402

_TMP = None


def models_dir():
    global _TMP
    given = os.environ.get("VKMOE_TINY_MODELS")
    if given:
        return given
    if _TMP is None:
        _TMP = tempfile.TemporaryDirectory(prefix="vkmoe-tiny-")
        subprocess.run([sys.executable, "-B", GENERATOR, _TMP.name, "--quiet"], check=True)
    return _TMP.name


class Models:
    """Manifest access and cached logits per (model, prompt length)."""
    _cache = {}

    def __init__(self):
        self.dir = models_dir()
        with open(os.path.join(self.dir, "manifest.json")) as f:
            self.manifest = json.load(f)

    def path(self, name):
        return os.path.join(self.dir, name)

    def prompt(self, name, length):
        return self.manifest["models"][name]["prompts"][str(length)]

    def logits(self, name, length, prompt_of=None):
        key = (name, length, prompt_of)
        if key not in self._cache:
            self._cache[key] = ref.logits(self.path(name), self.prompt(prompt_of or name, length))
        return self._cache[key]

    def model(self, name):
        return ref.load(self.path(name))


M = None


def setUpModule():
    global M
    M = Models()


def same_config(test, a, b):
    """Configs equal, except that GGUF stores rms eps as float32."""
    test.assertEqual({k: v for k, v in a.cfg.items() if k != "eps"}, {k: v for k, v in b.cfg.items() if k != "eps"})
    test.assertAlmostEqual(a.cfg["eps"], b.cfg["eps"], delta=1e-7 * b.cfg["eps"])


def same_tensors(test, a, b, exact=True, rtol=0.0):
    """Compare two loaded models tensor by tensor."""
    def walk(x, y, where):
        if isinstance(x, tuple):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{where}[{i}]")
            return
        if x is None or y is None:
            test.assertIs(x, y, where)
            return
        test.assertEqual(x.shape, y.shape, where)
        if exact:
            test.assertTrue(np.array_equal(x, y, equal_nan=True), where)
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0, err_msg=where)
    for k in a.glob:
        walk(a.glob[k], b.glob[k], k)
    for i, (la, lb) in enumerate(zip(a.layers, b.layers)):
        test.assertEqual(sorted(la), sorted(lb), f"layer {i} tensors")
        for k in la:
            walk(la[k], lb[k], f"layer {i} {k}")


class CheckpointEquivalence(unittest.TestCase):
    def test_fused_and_sharded_per_expert_layouts_are_identical(self):
        a, b = M.model("qwen2_moe-bf16-fused"), M.model("qwen2_moe-bf16-sharded")
        same_tensors(self, a, b)
        for n in (1, 7, 64):
            np.testing.assert_array_equal(M.logits("qwen2_moe-bf16-fused", n, "qwen2_moe-f32"),
                                          M.logits("qwen2_moe-bf16-sharded", n, "qwen2_moe-f32"))

    def test_shard_index_lists_every_tensor_once(self):
        d = M.path("qwen2_moe-bf16-sharded")
        with open(os.path.join(d, "model.safetensors.index.json")) as f:
            index = json.load(f)["weight_map"]
        seen = {}
        for shard in sorted(set(index.values())):
            for name in hf_checkpoint.read_safetensors(os.path.join(d, shard)):
                self.assertNotIn(name, seen)
                seen[name] = shard
        self.assertEqual(seen, index)
        self.assertEqual(len(set(index.values())), 3)

    def test_bf16_checkpoint_holds_rounded_f32_weights(self):
        for f32, bf16 in (("qwen2_moe-f32", "qwen2_moe-bf16-sharded"), ("deepseek-f32", "deepseek-bf16")):
            a, b = M.model(f32), M.model(bf16)
            for name in ("embed", "lm_head"):
                x, y = a.glob[name], b.glob[name]
                low_bits = y.astype(np.float32).view(np.uint32) & 0xFFFF
                self.assertFalse(low_bits.any(), f"{bf16} {name} is not bf16")
                self.assertLessEqual(np.abs(x - y).max(), (np.abs(x) * 2.0 ** -8).max())
            same_tensors(self, a, b, exact=False, rtol=2.0 ** -8)

    def test_bf16_logits_close_to_f32(self):
        # Weight rounding of 2^-9 moves logits by about 1% of their range; the deepseek 64-token
        # prompt also changes one routing choice, which stays within the same bound here.
        for f32, bf16 in (("qwen2_moe-f32", "qwen2_moe-bf16-sharded"), ("deepseek-f32", "deepseek-bf16")):
            for n in (1, 7, 64):
                a, b = M.logits(f32, n), M.logits(bf16, n, f32)
                self.assertLess(np.abs(a - b).max(), 0.04 * np.abs(a).max(), f"{bf16} prompt {n}")

    def test_gguf_f32_copy_equals_hf_model(self):
        # Checks the GGUF writer, reader, names, shapes and DeepSeek's q/k row permutation.
        for gguf, hf in (("deepseek-f32.gguf", "deepseek-f32"), ("qwen2_moe-h40-f32.gguf", "qwen2_moe-h40-top1-norm")):
            a, b = M.model(gguf), M.model(hf)
            same_config(self, a, b)
            same_tensors(self, a, b)
            for n in (1, 7, 64):
                # Same numbers; BLAS may sum in a different order for differently aligned copies.
                np.testing.assert_allclose(M.logits(gguf, n, hf), M.logits(hf, n), rtol=0, atol=1e-10)

    def test_gguf_f16_bf16_copies_close_to_hf_model(self):
        for gguf, rel in (("qwen2_moe-h40-f16.gguf", 2.0 ** -10), ("qwen2_moe-h40-bf16.gguf", 2.0 ** -7)):
            a, b = M.model(gguf), M.model("qwen2_moe-h40-top1-norm")
            same_config(self, a, b)
            # Norms, biases and the router stay F32: compare one matrix of each kind.
            np.testing.assert_allclose(a.layers[0]["q"], b.layers[0]["q"], rtol=rel, atol=1e-6)
            np.testing.assert_allclose(a.layers[1]["exp_down"], b.layers[1]["exp_down"], rtol=rel, atol=1e-6)
            np.testing.assert_array_equal(a.layers[1]["router"], b.layers[1]["router"])
            base = M.logits("qwen2_moe-h40-top1-norm", 64)
            diff = np.abs(M.logits(gguf, 64, "qwen2_moe-h40-top1-norm") - base)
            self.assertLess(diff.max(), (0.04 if "bf16" in gguf else 0.002) * np.abs(base).max(), gguf)

    def test_quantised_gguf_tensors_close_to_source(self):
        src = M.model("qwen2_moe-f32")
        for gguf, rel in (("qwen2_moe-q8_0.gguf", 0.01), ("qwen2_moe-q4_0.gguf", 0.15)):
            q = M.model(gguf)
            same_config(self, q, src)
            for a, b in ((q.layers[0]["exp_gate"], src.layers[0]["exp_gate"]), (q.glob["embed"], src.glob["embed"])):
                rms = np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2))
                self.assertLess(rms, rel, gguf)
            np.testing.assert_array_equal(q.layers[0]["router"], src.layers[0]["router"])
            np.testing.assert_array_equal(q.layers[0]["q_bias"], src.layers[0]["q_bias"])


class Dequantisers(unittest.TestCase):
    """Hand-made blocks with values worked out by hand from the ggml layouts."""

    def test_f16_and_bf16(self):
        raw = bytes([0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38])          # f16 1.0, -2.0, 0.5
        np.testing.assert_array_equal(ggml_dequant.dequantize(1, raw, 3), [1.0, -2.0, 0.5])
        raw = bytes([0x80, 0x3F, 0x40, 0xC0, 0x49, 0x40])          # bf16 1.0, -3.0, 3.140625
        np.testing.assert_array_equal(ggml_dequant.dequantize(30, raw, 3), [1.0, -3.0, 3.140625])

    def test_q8_0(self):
        qs = list(range(-16, 16))
        raw = bytes([0x00, 0x38]) + bytes(q & 0xFF for q in qs)   # d = 0.5
        np.testing.assert_array_equal(ggml_dequant.dequantize(8, raw, 32), [0.5 * q for q in qs])

    def test_q4_0(self):
        # d = 2.0; byte j holds element j (low nibble) and element j + 16 (high nibble).
        lows = [j for j in range(16)]
        highs = [15 - j for j in range(16)]
        raw = bytes([0x00, 0x40]) + bytes(lo | (hi << 4) for lo, hi in zip(lows, highs))
        expected = [2.0 * (v - 8) for v in lows + highs]
        np.testing.assert_array_equal(ggml_dequant.dequantize(2, raw, 32), expected)

    def test_q4_k(self):
        # d = 1.0, dmin = 0.5. Sub-block scales 1 2 3 4 40 50 60 63, mins 5 6 7 8 17 33 49 62,
        # packed by hand: bytes 0-3 = scale j | (scale j+4 >> 4) << 6, bytes 4-7 = min j |
        # (min j+4 >> 4) << 6, bytes 8-11 = (scale j+4 & 15) | (min j+4 & 15) << 4.
        scales = bytes([129, 194, 195, 196, 69, 134, 199, 200, 24, 18, 28, 239])
        sc = [1, 2, 3, 4, 40, 50, 60, 63]
        mn = [5, 6, 7, 8, 17, 33, 49, 62]
        qs = bytes(((l % 16) | ((15 - l % 16) << 4)) for l in range(128))
        raw = bytes([0x00, 0x3C, 0x00, 0x38]) + scales + qs
        got = ggml_dequant.dequantize(12, raw, 256)
        expected = []
        for chunk in range(4):               # 32 low nibbles then 32 high nibbles per 32 bytes
            for half in range(2):
                j = 2 * chunk + half
                for l in range(32):
                    q = (l % 16) if half == 0 else (15 - l % 16)
                    expected.append(1.0 * sc[j] * q - 0.5 * mn[j])
        np.testing.assert_array_equal(got, expected)
        s, m = ggml_dequant.k4_scale_min(np.frombuffer(scales, np.uint8)[None])
        self.assertEqual(s[0].tolist(), sc)
        self.assertEqual(m[0].tolist(), mn)

    def test_generator_quantisers_round_trip(self):
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        from tiny_models import quantize
        x = np.random.default_rng(5).standard_normal((6, 512)).astype(np.float32)
        for kind, type_id, rel in (("Q8_0", 8, 0.01), ("Q4_0", 2, 0.12), ("Q4_K", 12, 0.12), ("BF16", 30, 0.005)):
            y = ggml_dequant.dequantize(type_id, quantize.encode(x, kind), x.size).reshape(x.shape)
            self.assertLess(np.sqrt(np.mean((x - y) ** 2)), rel, kind)


def naive_forward(m, tokens):
    """The same model written as loops over tokens, heads and chosen experts, to check the
    vectorised reference's indexing (GQA head mapping, causal window, top-k bookkeeping)."""
    c = m.cfg
    d, group = c["head_dim"], c["heads"] // c["kv_heads"]
    cos, sin = ref.rope_tables(d, c["rope_theta"], range(len(tokens)))

    def norm(v, w):
        return w * v / np.sqrt(np.mean(v * v) + c["eps"])

    def swiglu(v, gate, up, down):
        g = gate @ v
        return down @ (g / (1.0 + np.exp(-g)) * (up @ v))

    def rot(v, t):
        half = d // 2
        return v * cos[t] + np.concatenate([-v[half:], v[:half]]) * sin[t]

    hs = [m.glob["embed"][t].copy() for t in tokens]
    for layer in m.layers:
        ks, vs, outs = [], [], []
        for t, h in enumerate(hs):
            x = norm(h, layer["attn_norm"])
            proj = {n: layer[n] @ x + (layer[n + "_bias"] if layer[n + "_bias"] is not None else 0)
                    for n in ("q", "k", "v")}
            ks.append([rot(proj["k"][j * d:(j + 1) * d], t) for j in range(c["kv_heads"])])
            vs.append([proj["v"][j * d:(j + 1) * d] for j in range(c["kv_heads"])])
            heads = []
            for head in range(c["heads"]):
                q = rot(proj["q"][head * d:(head + 1) * d], t)
                kv = head // group
                scores = np.array([q @ ks[s][kv] for s in range(t + 1)]) / np.sqrt(d)
                p = np.exp(scores - scores.max())
                p /= p.sum()
                heads.append(sum(p[s] * vs[s][kv] for s in range(t + 1)))
            o = layer["o"] @ np.concatenate(heads)
            outs.append(h + o + (layer["o_bias"] if layer.get("o_bias") is not None else 0))
        hs = []
        for h in outs:
            x = norm(h, layer["ffn_norm"])
            if "router" not in layer:
                hs.append(h + swiglu(x, *layer["mlp"]))
                continue
            logit = layer["router"] @ x
            prob = np.exp(logit - logit.max())
            prob /= prob.sum()
            chosen = sorted(range(len(prob)), key=lambda e: -prob[e])[:c["top_k"]]
            weight = {e: prob[e] for e in chosen}
            if c["norm_topk_prob"] and (c["arch"] == "qwen2_moe" or c["top_k"] > 1):
                total = sum(weight.values())
                weight = {e: w / total for e, w in weight.items()}
            y = sum(weight[e] * swiglu(x, layer["exp_gate"][e], layer["exp_up"][e], layer["exp_down"][e])
                    for e in chosen)
            if "shared" in layer:
                s = swiglu(x, *layer["shared"])
                if "shared_gate" in layer:
                    s = s / (1.0 + np.exp(-(layer["shared_gate"] @ x)))
                y = y + s
            hs.append(h + y)
    return np.array([m.glob["lm_head"] @ norm(h, m.glob["final_norm"]) for h in hs])


class Forward(unittest.TestCase):
    def test_loop_forward_agrees(self):
        for name in ("qwen2_moe-f32", "deepseek-f32", "qwen2_moe-h40-top1-norm", "deepseek-h40-top1-norm",
                     "qwen2_moe-h72-topall", "deepseek-topall-norm", "qwen2_moe-dense-mid"):
            np.testing.assert_allclose(naive_forward(M.model(name), M.prompt(name, 7)), M.logits(name, 7),
                                       rtol=0, atol=1e-9, err_msg=name)

    def test_causal_mask(self):
        for name in ("qwen2_moe-f32", "deepseek-f32"):
            prompt = M.prompt(name, 64)
            full = M.logits(name, 64)
            changed = list(prompt)
            changed[40:] = [(t + 17) % 2000 for t in changed[40:]]
            other = ref.logits(M.path(name), changed)
            # Not bit-equal: changing later tokens changes how many rows each expert gets, and a
            # BLAS (OpenBLAS) may sum a product differently for another row count. A leak
            # through the mask would move the logits by O(1).
            np.testing.assert_allclose(full[:40], other[:40], rtol=0, atol=1e-12)
            self.assertGreater(np.abs(full[40:] - other[40:]).max(), 1e-3)
            self.assertGreater(np.abs(full[40:] - other[40:]).max(), 0.1)

    def test_incremental_decode_matches_prefill(self):
        for name, entry in M.manifest["models"].items():
            prompt = M.prompt(name, 64)
            one_by_one = ref.Session(M.model(name))
            steps = np.concatenate([one_by_one.feed([t]) for t in prompt])
            chunked = ref.Session(M.model(name))
            chunks = np.concatenate([chunked.feed(prompt[:7]), chunked.feed(prompt[7:])])
            np.testing.assert_allclose(steps, M.logits(name, 64), rtol=0, atol=1e-10, err_msg=name)
            np.testing.assert_allclose(chunks, M.logits(name, 64), rtol=0, atol=1e-10, err_msg=name)

    def test_rope_rotates_pairs_half_a_head_apart(self):
        d, theta = 12, 1e6
        cos, sin = ref.rope_tables(d, theta, [0, 3, 10])
        x = np.random.default_rng(1).standard_normal((3, 1, d))
        y = ref.apply_rope(x, cos, sin)
        for t, pos in enumerate((0, 3, 10)):
            for i in range(d // 2):
                angle = pos * theta ** (-2.0 * i / d)
                a, b = x[t, 0, i], x[t, 0, i + d // 2]
                self.assertAlmostEqual(y[t, 0, i], a * np.cos(angle) - b * np.sin(angle), places=5)
                self.assertAlmostEqual(y[t, 0, i + d // 2], b * np.cos(angle) + a * np.sin(angle), places=5)

    def test_layer_kinds_follow_each_architectures_rule(self):
        expected = {"qwen2_moe-f32": [True, True], "qwen2_moe-dense-mid": [True, False, True],
                    "qwen2_moe-sparse-step2": [False, True], "deepseek-f32": [False, True, True],
                    "deepseek-topall-norm": [True, True]}
        for name, kinds in expected.items():
            self.assertEqual(M.model(name).cfg["moe_layers"], kinds, name)

    def test_top_k_equal_to_experts_is_the_dense_softmax_mixture(self):
        for name in ("qwen2_moe-h72-topall", "deepseek-topall-norm"):
            m = M.model(name)
            layer = next(l for l in m.layers if "router" in l)
            xs = np.random.default_rng(3).standard_normal((5, m.cfg["hidden"]))
            p = np.exp(xs @ layer["router"].T)
            p /= p.sum(axis=1, keepdims=True)
            g = np.einsum("eih,th->tei", layer["exp_gate"], xs)
            u = np.einsum("eih,th->tei", layer["exp_up"], xs)
            experts = np.einsum("ehi,tei->teh", layer["exp_down"], g / (1 + np.exp(-g)) * u)
            dense = np.einsum("te,teh->th", p, experts)
            sg, su, sd = layer["shared"]
            hs = xs @ sg.T
            shared = (hs / (1 + np.exp(-hs)) * (xs @ su.T)) @ sd.T
            if "shared_gate" in layer:
                shared = shared / (1 + np.exp(-(xs @ layer["shared_gate"])))[:, None]
            np.testing.assert_allclose(ref.moe_block(m.cfg, layer, xs), dense + shared, rtol=1e-12, atol=1e-12)

    def test_top1_normalisation_differs_between_architectures(self):
        for name, weight_is_one in (("qwen2_moe-h40-top1-norm", True), ("deepseek-h40-top1-norm", False)):
            m = M.model(name)
            layer = next(l for l in m.layers if "router" in l)
            xs = np.random.default_rng(4).standard_normal((8, m.cfg["hidden"]))
            _, w, _ = ref.route(m.cfg, layer, xs)
            self.assertEqual(bool(np.allclose(w, 1.0)), weight_is_one, name)

    def test_unrouted_expert_does_not_affect_outputs(self):
        name = "qwen2_moe-f32"
        s = ref.Session(M.model(name))
        s.trace = []
        s.feed(M.prompt(name, 7))
        layer_index = [i for i, l in enumerate(M.model(name).layers) if "router" in l]
        poisoned = M.model(name).astype(np.float64)
        hit = 0
        for call, rec in zip(layer_index, s.trace):
            unused = set(range(M.model(name).cfg["num_experts"])) - set(rec["ids"].ravel().tolist())
            for e in unused:
                for k in ("exp_gate", "exp_up", "exp_down"):
                    poisoned.layers[call][k][e] = np.nan
                hit += 1
        self.assertGreater(hit, 0, "every expert got a token; pick a shorter prompt")
        np.testing.assert_array_equal(ref.Session(poisoned).feed(M.prompt(name, 7)), M.logits(name, 7))

    def test_dead_expert_model_never_routes_to_its_nan_expert(self):
        name = "qwen2_moe-dead-expert"
        dead = M.manifest["models"][name]["nan_expert"]
        for n in (1, 7, 64):
            s = ref.Session(M.model(name))
            s.trace = []
            out = s.feed(M.prompt(name, n))
            self.assertTrue(np.isfinite(out).all())
            self.assertFalse(any((rec["ids"] == dead).any() for rec in s.trace))

    def test_router_margins_leave_room_for_float32_engines(self):
        # An fp32 engine's router logits differ from this float64 reference by ~1e-6; a gap of
        # 1e-3 between the k-th and (k+1)-th logit keeps every test prompt's routing unambiguous.
        for name in M.manifest["models"]:
            for n in (1, 7, 64):
                s = ref.Session(M.model(name))
                s.trace = []
                s.feed(M.prompt(name, n))
                worst = min(rec["margin"].min() for rec in s.trace)
                self.assertGreater(worst, 1e-3, f"{name} prompt {n}")

    def test_float32_evaluation_stays_close(self):
        for name in ("qwen2_moe-f32", "deepseek-f32", "qwen2_moe-h256-q4_k.gguf"):
            f32 = ref.Session(M.model(name), np.float32).feed(M.prompt(name, 64))
            self.assertLess(np.abs(f32 - M.logits(name, 64)).max(), 1e-4, name)


class ToolsAndFiles(unittest.TestCase):
    def test_cli_writes_last_or_all_positions_and_compare_reports(self):
        with tempfile.TemporaryDirectory() as tmp:
            name = "deepseek-f32.gguf"
            tokens = ",".join(str(t) for t in M.prompt(name, 7))
            run = lambda *a: subprocess.run([sys.executable, "-B", *a], capture_output=True, text=True)  # noqa: E731
            last, full = os.path.join(tmp, "last.npy"), os.path.join(tmp, "all.npy")
            script = os.path.join(HERE, "moe_reference.py")
            self.assertEqual(run(script, M.path(name), "--tokens", tokens, "--out", last).returncode, 0)
            self.assertEqual(run(script, M.path(name), "--tokens", tokens, "--out", full,
                                 "--all-positions", "--decode").returncode, 0)
            a, b = np.load(last), np.load(full)
            self.assertEqual((a.dtype, a.shape, b.shape), (np.float32, (1, 2560), (7, 2560)))
            np.testing.assert_allclose(a[0], b[-1], rtol=0, atol=1e-6)
            cmp = os.path.join(HERE, "compare_logits.py")
            self.assertEqual(run(cmp, full, full, "--tol", "0").returncode, 0)
            noisy = os.path.join(tmp, "noisy.npy")
            np.save(noisy, b + np.float32(1e-2))
            result = run(cmp, noisy, full, "--tol", "1e-3")
            self.assertEqual(result.returncode, 1)
            self.assertIn("max_abs 1.000e-02", result.stdout)
            self.assertAlmostEqual(compare_logits.compare(b + 1, b)["max_abs"], 1.0, places=5)

    def test_generator_is_deterministic_and_falls_back_without_tokenizers(self):
        def tree(root):
            out = {}
            for base, _, files in os.walk(root):
                for f in files:
                    with open(os.path.join(base, f), "rb") as fh:
                        out[os.path.relpath(os.path.join(base, f), root)] = fh.read()
            return out
        with tempfile.TemporaryDirectory() as tmp:
            runs = (("a", []), ("a2", []), ("b", ["--assets", os.path.join(tmp, "none")]))
            for sub, extra in runs:
                subprocess.run([sys.executable, "-B", GENERATOR, os.path.join(tmp, sub), "--quiet", *extra],
                               check=True)
            first, second = tree(os.path.join(tmp, "a")), tree(os.path.join(tmp, "a2"))
            self.assertEqual(sorted(first), sorted(second))
            for f in first:
                self.assertEqual(first[f], second[f], f)
            with open(os.path.join(tmp, "b", "manifest.json")) as f:
                fallback = json.load(f)
            self.assertIn("fallback", fallback["tokenizers"]["qwen2_moe"])
            for name in ("qwen2_moe-f32", "deepseek-f32.gguf"):
                self.assertEqual(ref.logits(os.path.join(tmp, "b", name), [1, 2, 3]).shape, (3, 320))

    def test_configs_use_hugging_face_field_names(self):
        with open(os.path.join(M.path("qwen2_moe-f32"), "config.json")) as f:
            q = json.load(f)
        with open(os.path.join(M.path("deepseek-f32"), "config.json")) as f:
            d = json.load(f)
        for key in ("shared_expert_intermediate_size", "num_experts", "decoder_sparse_step", "mlp_only_layers",
                    "norm_topk_prob", "rope_theta", "tie_word_embeddings", "torch_dtype"):
            self.assertIn(key, q)
        for key in ("n_routed_experts", "n_shared_experts", "first_k_dense_replace", "moe_layer_freq",
                    "scoring_func", "attention_bias", "moe_intermediate_size"):
            self.assertIn(key, d)
        self.assertEqual((q["model_type"], d["model_type"]), ("qwen2_moe", "deepseek"))


if __name__ == "__main__":
    unittest.main()
