"""Seeded random weights for a config.json dict, under Hugging Face tensor names.

Canonical layout is per-expert (model.layers.L.mlp.experts.E.gate_proj.weight ...), the layout
of the published Qwen1.5-MoE and DeepSeek-MoE checkpoints; fused() converts to the layout newer
transformers writes (mlp.experts.gate_up_proj [E, 2I, H] with gate rows first, then up rows;
mlp.experts.down_proj [E, H, I]), as in transformers' MixtralExperts / Qwen2MoeExperts and
llama.cpp's convert_hf_to_gguf.py Qwen2MoeModel.modify_tensors, which splits gate_up_proj at
row n_ff into gate then up.

Scales keep activations O(1): a linear layer with fan-in n gets N(0, 1/n) weights, so its
outputs have unit variance; norm weights are 1 + N(0, 0.1^2) so that a `1 + weight` RMSNorm bug
is visible; routers are three times wider than a plain linear layer so router logits spread
over several units and top-k choices are far from ties.
"""
import numpy as np


def is_moe_layer(cfg, layer):
    """Which decoder layers hold a sparse MoE block, by each architecture's own rule."""
    if cfg["model_type"] == "qwen2_moe":
        # Qwen2MoeDecoderLayer: not in mlp_only_layers, experts > 0, (l+1) % decoder_sparse_step == 0
        return (layer not in cfg.get("mlp_only_layers", [])
                and cfg["num_experts"] > 0
                and (layer + 1) % cfg["decoder_sparse_step"] == 0)
    # DeepseekDecoderLayer: n_routed_experts set, l >= first_k_dense_replace, l % moe_layer_freq == 0
    return (cfg["n_routed_experts"] is not None
            and layer >= cfg["first_k_dense_replace"]
            and layer % cfg["moe_layer_freq"] == 0)


def num_experts(cfg):
    return cfg["num_experts"] if cfg["model_type"] == "qwen2_moe" else cfg["n_routed_experts"]


def shared_size(cfg):
    if cfg["model_type"] == "qwen2_moe":
        return cfg["shared_expert_intermediate_size"]
    n = cfg.get("n_shared_experts") or 0
    return n * cfg["moe_intermediate_size"]


class _Init:
    def __init__(self, rng):
        self.rng = rng

    def linear(self, out_f, in_f, gain=1.0):
        w = self.rng.standard_normal((out_f, in_f)) * (gain / np.sqrt(in_f))
        return w.astype(np.float32)

    def norm(self, n):
        return (1.0 + 0.1 * self.rng.standard_normal(n)).astype(np.float32)

    def bias(self, n):
        return (0.5 * self.rng.standard_normal(n)).astype(np.float32)


def _mlp(init, out, prefix, hidden, inter):
    out[prefix + "gate_proj.weight"] = init.linear(inter, hidden)
    out[prefix + "up_proj.weight"] = init.linear(inter, hidden)
    out[prefix + "down_proj.weight"] = init.linear(hidden, inter)


def make_weights(cfg, rng):
    """All tensors of the checkpoint described by cfg, float32, per-expert layout."""
    init = _Init(rng)
    h = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg["num_key_value_heads"]
    hd = h // nh
    qwen = cfg["model_type"] == "qwen2_moe"
    attn_bias = True if qwen else cfg["attention_bias"]
    e = num_experts(cfg)
    w = {}
    # 1/sqrt(h) keeps tied logits O(1); the first RMSNorm rescales the residual stream anyway.
    w["model.embed_tokens.weight"] = (rng.standard_normal((cfg["vocab_size"], h)) / np.sqrt(h)).astype(np.float32)
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        w[p + "input_layernorm.weight"] = init.norm(h)
        w[p + "self_attn.q_proj.weight"] = init.linear(nh * hd, h)
        w[p + "self_attn.k_proj.weight"] = init.linear(nkv * hd, h)
        w[p + "self_attn.v_proj.weight"] = init.linear(nkv * hd, h)
        w[p + "self_attn.o_proj.weight"] = init.linear(h, nh * hd)
        if attn_bias:
            w[p + "self_attn.q_proj.bias"] = init.bias(nh * hd)
            w[p + "self_attn.k_proj.bias"] = init.bias(nkv * hd)
            w[p + "self_attn.v_proj.bias"] = init.bias(nkv * hd)
            if not qwen:  # DeepseekAttention gives o_proj a bias too when attention_bias is set
                w[p + "self_attn.o_proj.bias"] = init.bias(h)
        w[p + "post_attention_layernorm.weight"] = init.norm(h)
        if not is_moe_layer(cfg, layer):
            _mlp(init, w, p + "mlp.", h, cfg["intermediate_size"])
            continue
        w[p + "mlp.gate.weight"] = init.linear(e, h, gain=3.0)
        for x in range(e):
            _mlp(init, w, f"{p}mlp.experts.{x}.", h, cfg["moe_intermediate_size"])
        s = shared_size(cfg)
        if qwen:
            _mlp(init, w, p + "mlp.shared_expert.", h, s)
            w[p + "mlp.shared_expert_gate.weight"] = init.linear(1, h)
        elif s > 0:
            _mlp(init, w, p + "mlp.shared_experts.", h, s)
    w["model.norm.weight"] = init.norm(h)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = init.linear(cfg["vocab_size"], h)
    return w


def kill_expert(cfg, w, expert):
    """Make `expert` unreachable and poison it. With top-1 routing, a router row that is the
    mean of rows 0 and 1 gives a logit that never exceeds both of theirs (ties need exactly
    equal logits), so the expert receives no token in any layer, for any input; its weights are
    NaN so that an engine which reads them (a wrong expert index, a dense masked fallback that
    multiplies by a zero weight) produces NaN."""
    top_k = cfg["num_experts_per_tok"]
    if top_k != 1 or expert < 2:
        raise ValueError("kill_expert needs top-1 routing and an expert index >= 2")
    for layer in range(cfg["num_hidden_layers"]):
        if not is_moe_layer(cfg, layer):
            continue
        p = f"model.layers.{layer}.mlp."
        router = w[p + "gate.weight"]
        router[expert] = 0.5 * (router[0] + router[1])
        for name in ("gate_proj", "up_proj", "down_proj"):
            w[f"{p}experts.{expert}.{name}.weight"][:] = np.nan


def fused(cfg, w):
    """Same tensors with every MoE layer's experts in the fused 3-D layout."""
    out = {}
    e = num_experts(cfg)
    done = set()
    for name, array in w.items():
        if ".mlp.experts." not in name:
            out[name] = array
            continue
        prefix = name.split(".mlp.experts.")[0] + ".mlp.experts."
        if prefix in done:
            continue
        done.add(prefix)
        gate = np.stack([w[f"{prefix}{x}.gate_proj.weight"] for x in range(e)])
        up = np.stack([w[f"{prefix}{x}.up_proj.weight"] for x in range(e)])
        out[prefix + "gate_up_proj"] = np.concatenate([gate, up], axis=1)
        out[prefix + "down_proj"] = np.stack([w[f"{prefix}{x}.down_proj.weight"] for x in range(e)])
    return out
