#!/usr/bin/env python3
"""Independent numpy forward of Qwen2-MoE (`qwen2_moe`) and DeepSeek-MoE (`deepseek`) models,
written from the Hugging Face modelling code and sharing nothing with the engine.

    python3 tests/reference/moe_reference.py MODEL --tokens 1,2,3 --out logits.npy \
        [--all-positions] [--decode] [--dtype float64|float32] [--routing]

MODEL is a Hugging Face directory (config.json + safetensors) or a .gguf file. Writes float32
logits of shape [positions, vocab]: the last position only unless --all-positions.

Python API: logits(model_path, token_ids) -> float64 [T, vocab]; load(path) -> Model;
Session(model).feed(tokens) for incremental decoding with a KV cache.

Arithmetic is float64 by default (a better reference than the float32 the models run in); RoPE
cos/sin are computed in float32 exactly as the modelling code does and then widened. Sources
(class/function names in transformers' models/qwen2_moe/modeling_qwen2_moe.py and DeepSeek-MoE's
modeling_deepseek.py):
- RMSNorm (Qwen2MoeRMSNorm, DeepseekRMSNorm): x * rsqrt(mean(x^2) + eps), times weight (no +1).
- RoPE (Qwen2MoeRotaryEmbedding, DeepseekRotaryEmbedding, rotate_half, apply_rotary_pos_emb):
  inv_freq = 1 / theta^(arange(0, d, 2) / d) in float32, angles for (freqs, freqs) concatenated,
  x*cos + rotate_half(x)*sin with rotate_half(x) = (-x2, x1) on the two halves of each head.
- Attention (Qwen2MoeAttention, DeepseekAttention): q/k/v biases when present (Qwen always;
  DeepSeek when attention_bias, which also biases o_proj), repeat_kv grouping (query head h uses
  key/value head h // (heads / kv_heads)), scores / sqrt(head_dim), causal mask, softmax.
- Experts (Qwen2MoeMLP, DeepseekMLP): down(silu(gate(x)) * up(x)).
- Router (Qwen2MoeSparseMoeBlock / Qwen2MoeTopKRouter; MoEGate): softmax over all experts, top-k;
  Qwen divides the k weights by their sum when norm_topk_prob; DeepSeek only when top_k > 1 and
  norm_topk_prob, with a 1e-20 guard in the denominator.
- Shared experts: Qwen adds sigmoid(shared_expert_gate . x) * shared_expert(x); DeepSeek adds
  shared_experts(x) (intermediate = moe_intermediate_size * n_shared_experts), ungated.
- Dense layers (Qwen2MoeMLP with intermediate_size / DeepseekMLP) where the layer rule says so.
- Decoder layer: x + attn(norm(x)), then x + mlp(norm(x)); final norm; lm_head (or embed^T).
"""
import argparse
import functools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_checkpoint  # noqa: E402
import hf_checkpoint  # noqa: E402


class Model:
    """Normalised config (dict), global tensors and per-layer tensors, all in one dtype."""

    def __init__(self, cfg, glob, layers):
        self.cfg, self.glob, self.layers = cfg, glob, layers

    def astype(self, dtype):
        conv = lambda v: v.astype(dtype) if isinstance(v, np.ndarray) else (  # noqa: E731
            tuple(conv(x) for x in v) if isinstance(v, tuple) else v)
        return Model(self.cfg, {k: conv(v) for k, v in self.glob.items()},
                     [{k: conv(v) for k, v in layer.items()} for layer in self.layers])


@functools.lru_cache(maxsize=16)
def load(path):
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return Model(*hf_checkpoint.load(path))
    if path.endswith(".gguf"):
        return Model(*gguf_checkpoint.load(path))
    raise ValueError(f"{path}: expected a model directory or a .gguf file")


def rms_norm(x, weight, eps):
    var = np.mean(x * x, axis=-1, keepdims=True)
    return weight * (x / np.sqrt(var + eps))


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def silu(x):
    return x * sigmoid(x)


def mlp(x, weights):
    gate, up, down = weights
    return (silu(x @ gate.T) * (x @ up.T)) @ down.T


def rope_tables(head_dim, theta, positions):
    """cos, sin [T, head_dim] in float32, as the modelling code computes them."""
    exponent = np.arange(0, head_dim, 2).astype(np.float32) / np.float32(head_dim)
    inv_freq = np.float32(1.0) / (np.float32(theta) ** exponent)
    freqs = np.asarray(positions, dtype=np.float32)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb), np.sin(emb)


def apply_rope(x, cos, sin):
    """x [T, heads, d]; rotate_half pairs element i with element i + d/2."""
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, None, :] + rotated * sin[:, None, :]


def linear(x, w, b):
    y = x @ w.T
    return y + b if b is not None else y


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def route(cfg, layer, x):
    """(expert ids [T, k], weights [T, k], router logits [T, E]) for router inputs x [T, H]."""
    router_logits = x @ layer["router"].T
    probs = softmax(router_logits)
    k = cfg["top_k"]
    ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    w = np.take_along_axis(probs, ids, axis=1)
    if cfg["norm_topk_prob"]:
        if cfg["arch"] == "qwen2_moe":
            w = w / w.sum(axis=1, keepdims=True)
        elif k > 1:                      # MoEGate: `if self.top_k > 1 and self.norm_topk_prob`
            w = w / (w.sum(axis=1, keepdims=True) + 1e-20)
    return ids, w, router_logits


def moe_block(cfg, layer, x, trace=None):
    ids, w, router_logits = route(cfg, layer, x)
    y = np.zeros_like(x)
    for e in np.unique(ids):             # like the modelling code: only experts that got tokens
        rows, slots = np.nonzero(ids == e)
        expert = (layer["exp_gate"][e], layer["exp_up"][e], layer["exp_down"][e])
        y[rows] += w[rows, slots][:, None] * mlp(x[rows], expert)
    if "shared" in layer:
        shared = mlp(x, layer["shared"])
        if "shared_gate" in layer:       # Qwen's gated shared expert
            shared = sigmoid(x @ layer["shared_gate"])[:, None] * shared
        y = y + shared
    if trace is not None:
        # Gap between the k-th and (k+1)-th router logit: how far each token is from a
        # different expert choice (an engine whose router logits err by more may route
        # differently and disagree by O(1) there).
        k = cfg["top_k"]
        ordered = -np.sort(-router_logits, axis=1)
        margin = ordered[:, k - 1] - ordered[:, k] if k < ordered.shape[1] else np.full(len(x), np.inf)
        trace.append({"ids": ids, "weights": w, "margin": margin})
    return y


class Session:
    """Incremental evaluation with a KV cache: feed() appends tokens and returns their logits.
    Feeding a prompt at once and one token at a time give the same logits up to rounding."""

    def __init__(self, model, dtype=np.float64):
        self.model = model if dtype == np.float64 else model.astype(dtype)
        self.dtype = dtype
        self.cache = [(None, None) for _ in self.model.layers]
        self.position = 0
        self.trace = None                 # set to a list to record routing per MoE layer call

    def _attention(self, layer, x, index, cos, sin):
        c = self.model.cfg
        t, nh, nkv, d = len(x), c["heads"], c["kv_heads"], c["head_dim"]
        q = linear(x, layer["q"], layer["q_bias"]).reshape(t, nh, d)
        k = linear(x, layer["k"], layer["k_bias"]).reshape(t, nkv, d)
        v = linear(x, layer["v"], layer["v_bias"]).reshape(t, nkv, d)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        past_k, past_v = self.cache[index]
        if past_k is not None:
            k = np.concatenate([past_k, k])
            v = np.concatenate([past_v, v])
        self.cache[index] = (k, v)
        group = nh // nkv
        k = np.repeat(k, group, axis=1)   # repeat_kv: kv head j serves query heads j*group..
        v = np.repeat(v, group, axis=1)
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(np.asarray(d, dtype=self.dtype))
        query_pos = self.position + np.arange(t)
        masked = np.arange(len(k))[None, :] > query_pos[:, None]
        scores = np.where(masked[None], -np.inf, scores)
        out = np.einsum("hts,shd->thd", softmax(scores), v).reshape(t, nh * d)
        return linear(out, layer["o"], layer.get("o_bias"))

    def feed(self, tokens):
        c, m = self.model.cfg, self.model
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.size == 0 or tokens.min() < 0 or tokens.max() >= c["vocab_size"]:
            raise ValueError(f"token ids must be in [0, {c['vocab_size']}) and non-empty")
        positions = self.position + np.arange(len(tokens))
        cos, sin = rope_tables(c["head_dim"], c["rope_theta"], positions)
        cos, sin = cos.astype(self.dtype), sin.astype(self.dtype)
        h = m.glob["embed"][tokens]
        for index, layer in enumerate(m.layers):
            h = h + self._attention(layer, rms_norm(h, layer["attn_norm"], c["eps"]), index, cos, sin)
            x = rms_norm(h, layer["ffn_norm"], c["eps"])
            h = h + (moe_block(c, layer, x, self.trace) if "router" in layer else mlp(x, layer["mlp"]))
        self.position += len(tokens)
        return rms_norm(h, m.glob["final_norm"], c["eps"]) @ m.glob["lm_head"].T


def logits(model_path, token_ids, dtype=np.float64):
    """Logits [len(token_ids), vocab] of a fresh prefill."""
    return Session(load(model_path), dtype).feed(token_ids)


def main(argv=None):
    ap = argparse.ArgumentParser(description="numpy reference logits for qwen2_moe / deepseek models")
    ap.add_argument("model", help="Hugging Face model directory or .gguf file")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True, help="output .npy (float32, [positions, vocab])")
    ap.add_argument("--all-positions", action="store_true", help="every position, not just the last")
    ap.add_argument("--decode", action="store_true", help="feed one token at a time (KV cache path)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--routing", action="store_true", help="print expert use and router margins")
    args = ap.parse_args(argv)
    tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
    session = Session(load(args.model), np.dtype(args.dtype).type)
    session.trace = [] if args.routing else None
    if args.decode:
        out = np.concatenate([session.feed([t]) for t in tokens])
    else:
        out = session.feed(tokens)
    if not args.all_positions:
        out = out[-1:]
    np.save(args.out, out.astype(np.float32))
    if args.routing:
        for i, rec in enumerate(session.trace):
            used = np.bincount(rec["ids"].ravel(), minlength=session.model.cfg["num_experts"])
            print(f"moe call {i}: tokens per expert {used.tolist()}, min top-k margin "
                  f"{rec['margin'].min():.3g} (router logit units)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
