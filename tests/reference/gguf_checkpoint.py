"""Reads a GGUF v3 file (ggml docs/gguf.md) into the reference's plain form, undoing what
llama.cpp's convert_hf_to_gguf.py did to the Hugging Face tensors:

- shapes: GGUF lists ne[0] (the contiguous dimension) first; numpy shape is the reverse.
- experts: blk.N.ffn_{gate,up,down}_exps.weight are already stacked [E, I, H] / [E, H, I].
- DeepseekModel.modify_tensors permutes q_proj / k_proj rows (and biases) per head from the
  rotate_half layout to interleaved pairs (llama.cpp applies RoPE to adjacent pairs for
  `deepseek`); this reader moves row 2*i + s of a head back to row s*d/2 + i. Qwen2MoeModel
  applies no permutation (llama.cpp uses NeoX RoPE for qwen2moe).
- tied embeddings: output.weight is absent and token_embd.weight is reused.
- ffn_gate_inp_shexp is the Qwen shared-expert gate, 1-D [H].

Which layers are MoE is read from the tensors (ffn_gate_inp present), which agrees with
{arch}.leading_dense_block_count for deepseek and with qwen2moe having no dense layers.
"""
import struct

import numpy as np

from ggml_dequant import dequantize, nbytes

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class _Cursor:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise ValueError(f"GGUF truncated at byte {self.at}")
        (v,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return v

    def string(self):
        n = self.take("<Q")
        s = bytes(self.data[self.at:self.at + n]).decode("utf-8")
        self.at += n
        return s

    def value(self, kind):
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            inner, n = self.take("<I"), self.take("<Q")
            return [self.value(inner) for _ in range(n)]
        return self.take(_SCALARS[kind])


def read_gguf(path):
    """(metadata dict, {name: float32 array in numpy shape})."""
    with open(path, "rb") as f:
        data = f.read()
    c = _Cursor(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    c.at = 4
    version = c.take("<I")
    if version != 3:
        raise ValueError(f"{path}: GGUF version {version}, expected 3")
    n_tensors, n_kv = c.take("<Q"), c.take("<Q")
    meta = {}
    for _ in range(n_kv):
        key = c.string()
        meta[key] = c.value(c.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = c.string()
        ne = [c.take("<Q") for _ in range(c.take("<I"))]
        infos.append((name, ne, c.take("<I"), c.take("<Q")))
    align = meta.get("general.alignment", 32)
    base = c.at + (-c.at % align)
    tensors = {}
    for name, ne, kind, offset in infos:
        count = int(np.prod(ne, dtype=np.int64))
        start = base + offset
        if offset % align:
            raise ValueError(f"{path}: tensor {name} at offset {offset} is not {align}-aligned")
        raw = memoryview(data)[start:start + nbytes(kind, count)]
        tensors[name] = dequantize(kind, raw, count).reshape(list(reversed(ne)))
    return meta, tensors


def _rope_rows_back(w, n_head):
    """Inverse of convert_hf_to_gguf.py's DeepseekModel.permute along the first axis."""
    d = w.shape[0] // n_head
    rest = w.shape[1:]
    return w.reshape(n_head, d // 2, 2, *rest).swapaxes(1, 2).reshape(w.shape)


def load(path):
    meta, t = read_gguf(path)
    arch = meta["general.architecture"]
    if arch not in ("qwen2moe", "deepseek"):
        raise ValueError(f"{path}: architecture {arch} is not qwen2moe or deepseek")
    k = lambda key, default=None: meta.get(f"{arch}.{key}", default)  # noqa: E731
    hidden = k("embedding_length")
    heads = k("attention.head_count")
    kv_heads = k("attention.head_count_kv", heads)
    layers = k("block_count")
    embed = t["token_embd.weight"].astype(np.float64)
    cfg = {
        "arch": "qwen2_moe" if arch == "qwen2moe" else "deepseek",
        "vocab_size": embed.shape[0],
        "hidden": hidden, "layers": layers, "heads": heads, "kv_heads": kv_heads,
        "head_dim": k("attention.key_length", hidden // heads),
        "eps": k("attention.layer_norm_rms_epsilon"),
        "rope_theta": float(k("rope.freq_base", 10000.0)),
        "num_experts": k("expert_count", 0),
        "top_k": k("expert_used_count", 0),
        "norm_topk_prob": bool(k("expert_weights_norm", False)),
        "tie": "output.weight" not in t,
        "moe_layers": [f"blk.{l}.ffn_gate_inp.weight" in t for l in range(layers)],
    }
    if k("expert_weights_scale", 1.0) != 1.0:
        raise ValueError(f"{path}: expert_weights_scale != 1 is not part of these architectures")
    f64 = {name: a.astype(np.float64) for name, a in t.items()}
    out_layers = []
    for l in range(layers):
        b = f"blk.{l}."
        layer = {"attn_norm": f64[b + "attn_norm.weight"], "ffn_norm": f64[b + "ffn_norm.weight"]}
        for short, name in (("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_output")):
            layer[short] = f64[f"{b}{name}.weight"]
            layer[short + "_bias"] = f64.get(f"{b}{name}.bias")
            if cfg["arch"] == "deepseek" and short in ("q", "k"):
                n = heads if short == "q" else kv_heads
                layer[short] = _rope_rows_back(layer[short], n)
                if layer[short + "_bias"] is not None:
                    layer[short + "_bias"] = _rope_rows_back(layer[short + "_bias"], n)
        if cfg["moe_layers"][l]:
            layer["router"] = f64[b + "ffn_gate_inp.weight"]
            layer["exp_gate"] = f64[b + "ffn_gate_exps.weight"]
            layer["exp_up"] = f64[b + "ffn_up_exps.weight"]
            layer["exp_down"] = f64[b + "ffn_down_exps.weight"]
            if b + "ffn_gate_shexp.weight" in f64:
                layer["shared"] = tuple(f64[f"{b}ffn_{w}_shexp.weight"] for w in ("gate", "up", "down"))
            if b + "ffn_gate_inp_shexp.weight" in f64:
                layer["shared_gate"] = f64[b + "ffn_gate_inp_shexp.weight"].reshape(-1)
        else:
            layer["mlp"] = tuple(f64[f"{b}ffn_{w}.weight"] for w in ("gate", "up", "down"))
        out_layers.append(layer)
    glob = {"embed": embed, "final_norm": f64["output_norm.weight"],
            "lm_head": embed if cfg["tie"] else f64["output.weight"]}
    return cfg, glob, out_layers
