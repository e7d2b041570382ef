#!/usr/bin/env python3
"""Reference for the whole-model backward for activations (engine/model/backward.h), in float64
numpy, sharing nothing with the engine: what Bayesian-MoE's KFAC reads of every routed expert.

For a prompt, C answer-label tokens and the true label's index, the loss is the cross-entropy
over the C label logits at the last position, -log softmax_c(logits[answers])[truth]. Per MoE
layer and routing entry (token t, expert e) it gives

    a = silu(gate_e x_t) * up_e x_t     the down_proj input (x_t: the post-attention-norm input)
    g = d loss / d y                    y = down_e a, the down_proj output that the MoE block adds
                                        as w_e(x_t) * y (so g carries the routing weight)

g is a central finite difference of the forward below in y itself, one component at a time
(the forward takes an additive perturbation of every expert output), with every layer's routing
choices held at the unperturbed ones: top-k's derivative is zero almost everywhere, as in the
engine. The forward is moe_reference.py's (the Hugging Face semantics: its RMSNorm, RoPE,
attention, router, experts and shared experts), written out for a full prompt from position 0.

Python API: reference_backward(model_path, tokens, answers, truth) ->
    {layer: {"ids": [T, k], "g": [T, k, H], "a": [T, k, I]}} and the loss.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_reference as ref  # noqa: E402

STEP = 1e-6  # central differences in float64: truncation ~1e-12, rounding ~1e-10 relative


def attention(cfg, layer, x, cos, sin):
    t, nh, nkv, d = len(x), cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    q = ref.apply_rope(ref.linear(x, layer["q"], layer["q_bias"]).reshape(t, nh, d), cos, sin)
    k = ref.apply_rope(ref.linear(x, layer["k"], layer["k_bias"]).reshape(t, nkv, d), cos, sin)
    v = ref.linear(x, layer["v"], layer["v_bias"]).reshape(t, nkv, d)
    k = np.repeat(k, nh // nkv, axis=1)
    v = np.repeat(v, nh // nkv, axis=1)
    scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(float(d))
    masked = np.arange(t)[None, :] > np.arange(t)[:, None]
    scores = np.where(masked[None], -np.inf, scores)
    out = np.einsum("hts,shd->thd", ref.softmax(scores), v).reshape(t, nh * d)
    return ref.linear(out, layer["o"], layer.get("o_bias"))


def moe(cfg, layer, x, ids, delta):
    """The MoE block with routing `ids` [T, k] (None: the router's own) and `delta` [T, k, H]
    added to each entry's expert output y; returns (out, ids, a [T, k, I])."""
    own_ids, w, _ = ref.route(cfg, layer, x)
    if ids is None:
        ids = own_ids
    else:  # the routing weights of the held choices, as ref.route computes them
        probs = ref.softmax(x @ layer["router"].T)
        w = np.take_along_axis(probs, ids, axis=1)
        if cfg["norm_topk_prob"] and (cfg["arch"] == "qwen2_moe" or cfg["top_k"] > 1):
            w = w / w.sum(axis=1, keepdims=True)
    t, k = ids.shape
    inner = layer["exp_gate"].shape[1]
    a = np.zeros((t, k, inner))
    out = np.zeros_like(x)
    for tok in range(t):
        for j in range(k):
            e = ids[tok, j]
            a[tok, j] = ref.silu(layer["exp_gate"][e] @ x[tok]) * (layer["exp_up"][e] @ x[tok])
            y = layer["exp_down"][e] @ a[tok, j]
            if delta is not None:
                y = y + delta[tok, j]
            out[tok] += w[tok, j] * y
    if "shared" in layer:
        shared = ref.mlp(x, layer["shared"])
        if "shared_gate" in layer:
            shared = ref.sigmoid(x @ layer["shared_gate"])[:, None] * shared
        out = out + shared
    return out, ids, a


def run(model, h, first, cos, sin, answers, truth, routing, deltas=None):
    """Loss from the residual `h` entering layer `first`; routing {layer: ids} is held where
    given and filled in where not; deltas {layer: [T, k, H]}."""
    c = model.cfg
    for index in range(first, len(model.layers)):
        layer = model.layers[index]
        h = h + attention(c, layer, ref.rms_norm(h, layer["attn_norm"], c["eps"]), cos, sin)
        x = ref.rms_norm(h, layer["ffn_norm"], c["eps"])
        if "router" in layer:
            delta = None if deltas is None else deltas.get(index)
            out, routing[index], _ = moe(c, layer, x, routing.get(index), delta)
            h = h + out
        else:
            h = h + ref.mlp(x, layer["mlp"])
    logits = ref.rms_norm(h[-1], model.glob["final_norm"], c["eps"]) @ model.glob["lm_head"].T
    chosen = logits[list(answers)]
    top = chosen.max()
    return -(chosen[truth] - top - np.log(np.exp(chosen - top).sum()))


def reference_backward(model_path, tokens, answers, truth):
    model = ref.load(model_path).astype(np.float64)
    c = model.cfg
    tokens = np.asarray(tokens, dtype=np.int64)
    cos, sin = (v.astype(np.float64) for v in ref.rope_tables(c["head_dim"], c["rope_theta"],
                                                              np.arange(len(tokens))))
    routing, record = {}, {}
    # The residual entering each layer, to restart the forward there.
    entering = []
    h = model.glob["embed"][tokens].astype(np.float64)
    for index, layer in enumerate(model.layers):
        entering.append(h)
        h = h + attention(c, layer, ref.rms_norm(h, layer["attn_norm"], c["eps"]), cos, sin)
        x = ref.rms_norm(h, layer["ffn_norm"], c["eps"])
        if "router" in layer:
            out, routing[index], a = moe(c, layer, x, None, None)
            record[index] = a
            h = h + out
        else:
            h = h + ref.mlp(x, layer["mlp"])
    loss = run(model, entering[0], 0, cos, sin, answers, truth, dict(routing))

    result = {}
    for index, a in record.items():
        ids = routing[index]
        g = np.zeros((len(tokens), ids.shape[1], c["hidden"]))
        delta = np.zeros_like(g)
        for pos in np.ndindex(*g.shape):
            delta[pos] = STEP
            up = run(model, entering[index], index, cos, sin, answers, truth, dict(routing),
                     {index: delta})
            delta[pos] = -STEP
            down = run(model, entering[index], index, cos, sin, answers, truth, dict(routing),
                       {index: delta})
            delta[pos] = 0
            g[pos] = (up - down) / (2 * STEP)
        result[index] = {"ids": ids, "g": g, "a": a}
    return result, loss
