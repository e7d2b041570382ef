"""Reads a Hugging Face model directory (config.json + safetensors, single file or sharded) into
the reference's plain form: a normalised config dict and float64 tensors per layer.

safetensors: 8-byte little-endian header length, JSON header {name: {dtype, shape,
data_offsets}}, data; BF16 is widened to float32 by shifting its 16 bits to the top.

Which layers are sparse, and what the routing does, follow the modelling code:
- qwen2_moe (transformers modeling_qwen2_moe.py, Qwen2MoeDecoderLayer.__init__): MoE when the
  layer is not in mlp_only_layers, num_experts > 0 and (layer + 1) % decoder_sparse_step == 0.
- deepseek (DeepSeek-MoE modeling_deepseek.py, DeepseekDecoderLayer.__init__): MoE when
  n_routed_experts is set, layer >= first_k_dense_replace and layer % moe_layer_freq == 0.
Routed experts may be stored per expert (mlp.experts.E.gate_proj.weight ...), fused
(mlp.experts.gate_up_proj [E, 2I, H], gate rows first, and mlp.experts.down_proj [E, H, I]) or
stacked (mlp.experts.gate_proj.weight [E, I, H] ...); all three become stacked arrays.
"""
import json
import os

import numpy as np

_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8"}


def read_safetensors(path):
    """{name: float64 array} of one .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype}, not supported here")
        begin, end = info["data_offsets"]
        raw = np.frombuffer(body[begin:end], dtype=_DTYPES[dtype])
        if dtype == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        count = int(np.prod(info["shape"], dtype=np.int64))
        if raw.size != count:
            raise ValueError(f"{path}: tensor {name} holds {raw.size} values for shape {info['shape']}")
        out[name] = raw.astype(np.float64).reshape(info["shape"])
    return out


def read_tensors(directory):
    """Every tensor of the checkpoint, from model.safetensors or from the shards the index names."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        part = read_safetensors(os.path.join(directory, name))
        clash = tensors.keys() & part.keys()
        if clash:
            raise ValueError(f"{directory}: tensors in two shards: {sorted(clash)[:3]}")
        tensors.update(part)
    return tensors


def normalised_config(hf):
    """The fields the forward needs, under one set of names for both architectures."""
    arch = hf["model_type"]
    layers = hf["num_hidden_layers"]
    heads = hf["num_attention_heads"]
    c = {
        "arch": arch,
        "vocab_size": hf["vocab_size"],
        "hidden": hf["hidden_size"],
        "layers": layers,
        "heads": heads,
        "kv_heads": hf.get("num_key_value_heads") or heads,
        "head_dim": hf.get("head_dim") or hf["hidden_size"] // heads,
        "eps": hf["rms_norm_eps"],
        "rope_theta": float(hf["rope_theta"]),
        "top_k": hf["num_experts_per_tok"],
        "norm_topk_prob": bool(hf["norm_topk_prob"]),
        "tie": bool(hf.get("tie_word_embeddings", False)),
    }
    if arch == "qwen2_moe":
        sparse = [(l not in (hf.get("mlp_only_layers") or [])) and hf["num_experts"] > 0
                  and (l + 1) % hf["decoder_sparse_step"] == 0 for l in range(layers)]
        c["num_experts"] = hf["num_experts"]
    elif arch == "deepseek":
        if hf.get("scoring_func", "softmax") != "softmax":
            raise ValueError(f"deepseek scoring_func {hf['scoring_func']} is not softmax")
        e = hf.get("n_routed_experts")
        sparse = [e is not None and l >= hf["first_k_dense_replace"] and l % hf["moe_layer_freq"] == 0
                  for l in range(layers)]
        c["num_experts"] = e or 0
    else:
        raise ValueError(f"model_type {arch} is not qwen2_moe or deepseek")
    c["moe_layers"] = sparse
    return c


def _experts(t, prefix, n):
    """Stacked (gate [E,I,H], up [E,I,H], down [E,H,I]) from any of the three layouts."""
    if prefix + "gate_up_proj" in t:
        gate_up = t[prefix + "gate_up_proj"]
        inter = gate_up.shape[1] // 2
        return gate_up[:, :inter], gate_up[:, inter:], t[prefix + "down_proj"]
    if prefix + "gate_proj.weight" in t:
        return t[prefix + "gate_proj.weight"], t[prefix + "up_proj.weight"], t[prefix + "down_proj.weight"]
    stack = [np.stack([t[f"{prefix}{e}.{w}_proj.weight"] for e in range(n)]) for w in ("gate", "up", "down")]
    return tuple(stack)


def load(directory):
    """(config, globals, layers) in the reference's plain form."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = normalised_config(json.load(f))
    t = read_tensors(directory)
    shared_prefix = "mlp.shared_expert." if cfg["arch"] == "qwen2_moe" else "mlp.shared_experts."
    layers = []
    for l in range(cfg["layers"]):
        p = f"model.layers.{l}."
        layer = {"attn_norm": t[p + "input_layernorm.weight"], "ffn_norm": t[p + "post_attention_layernorm.weight"]}
        for short in ("q", "k", "v", "o"):
            layer[short] = t[f"{p}self_attn.{short}_proj.weight"]
            layer[short + "_bias"] = t.get(f"{p}self_attn.{short}_proj.bias")
        if cfg["moe_layers"][l]:
            layer["router"] = t[p + "mlp.gate.weight"]
            layer["exp_gate"], layer["exp_up"], layer["exp_down"] = _experts(t, p + "mlp.experts.", cfg["num_experts"])
            if p + shared_prefix + "gate_proj.weight" in t:
                layer["shared"] = tuple(t[f"{p}{shared_prefix}{w}_proj.weight"] for w in ("gate", "up", "down"))
            if p + "mlp.shared_expert_gate.weight" in t:
                layer["shared_gate"] = t[p + "mlp.shared_expert_gate.weight"].reshape(-1)
        else:
            layer["mlp"] = tuple(t[f"{p}mlp.{w}_proj.weight"] for w in ("gate", "up", "down"))
        layers.append(layer)
    embed = t["model.embed_tokens.weight"]
    glob = {"embed": embed, "final_norm": t["model.norm.weight"],
            "lm_head": embed if cfg["tie"] else t["lm_head.weight"]}
    return cfg, glob, layers
