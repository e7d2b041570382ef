"""GGUF v3 files of the tiny models, the way llama.cpp's convert_hf_to_gguf.py lays them out.

File format (ggml docs/gguf.md): "GGUF", uint32 version 3, uint64 tensor count, uint64 metadata
count; metadata as (string key, uint32 type, value); tensor infos as (string name, uint32 n_dims,
uint64 ne[n_dims] fastest dimension first, uint32 ggml type, uint64 offset into the data
section); padding to general.alignment (32); tensor data, each tensor aligned. Strings are
uint64 length + UTF-8 bytes; arrays are uint32 element type + uint64 count + elements.

Names and shapes (gguf-py constants.py TENSOR_NAMES, convert_hf_to_gguf.py Qwen2MoeModel and
DeepseekModel): experts stacked into blk.N.ffn_{gate,up,down}_exps.weight of numpy shape
[E, I, H] / [E, H, I] (ne reversed); the Qwen shared-expert gate [1, H] is squeezed to 1-D;
lm_head is left out when tied; routers (ffn_gate_inp, ffn_gate_inp_shexp), norms, biases and
other 1-D tensors stay F32. DeepseekModel permutes q_proj and k_proj rows (weights and biases)
because llama.cpp runs DeepSeek with interleaved-pair RoPE: within each head, row s*d/2 + i of
the Hugging Face tensor moves to row 2*i + s. Qwen2MoeModel permutes nothing (NeoX RoPE).
"""
import struct

import numpy as np

from .quantize import BLOCK_SIZE, encode
from .weights import is_moe_layer, num_experts

GGML_TYPE = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 8, "Q4_K": 12, "BF16": 30}
FILE_TYPE = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K": 14, "BF16": 32}  # llama_ftype
ALIGNMENT = 32
_SCALAR = {"uint8": (0, "<B"), "int8": (1, "<b"), "uint16": (2, "<H"), "int16": (3, "<h"),
           "uint32": (4, "<I"), "int32": (5, "<i"), "float32": (6, "<f"), "bool": (7, "<?"),
           "uint64": (10, "<Q"), "int64": (11, "<q"), "float64": (12, "<d")}
_STRING, _ARRAY = 8, 9


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(kind, value):
    """(uint32 type, encoded value) for a typed metadata value."""
    if kind == "string":
        return struct.pack("<I", _STRING) + _string(value)
    if kind.startswith("array:"):
        inner = kind[len("array:"):]
        if inner == "string":
            body = b"".join(_string(v) for v in value)
            code = _STRING
        else:
            code, fmt = _SCALAR[inner]
            body = b"".join(struct.pack(fmt, v) for v in value)
        return struct.pack("<IIQ", _ARRAY, code, len(value)) + body
    code, fmt = _SCALAR[kind]
    return struct.pack("<I", code) + struct.pack(fmt, value)


def write_gguf(path, metadata, tensors):
    """metadata: {key: (kind, value)}; tensors: list of (name, float32 array, tensor type)."""
    infos, blobs, offset = [], [], 0
    for name, array, kind in tensors:
        raw = encode(array, kind)
        offset += -offset % ALIGNMENT
        ne = list(reversed(array.shape))
        infos.append(_string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
                     + struct.pack("<IQ", GGML_TYPE[kind], offset))
        blobs.append((offset, raw))
        offset += len(raw)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    head += b"".join(_string(k) + _value(*v) for k, v in metadata.items())
    head += b"".join(infos)
    head += b"\0" * (-len(head) % ALIGNMENT)
    data = bytearray(offset)
    for at, raw in blobs:
        data[at:at + len(raw)] = raw
    with open(path, "wb") as f:
        f.write(head)
        f.write(data)


def _rope_interleave(w, n_head):
    """convert_hf_to_gguf.py DeepseekModel.permute: rows of each head reordered from the
    rotate_half layout (first half, second half) to interleaved pairs."""
    shape = w.shape
    return w.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def gguf_tensors(cfg, w):
    """(gguf name, float32 array in GGUF row order) for a per-expert HF weight dict."""
    arch = cfg["model_type"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    out = [("token_embd.weight", w["model.embed_tokens.weight"])]
    attn = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output"}
    for layer in range(cfg["num_hidden_layers"]):
        p, b = f"model.layers.{layer}.", f"blk.{layer}."
        out.append((b + "attn_norm.weight", w[p + "input_layernorm.weight"]))
        for hf, gg in attn.items():
            for suffix in ("weight", "bias"):
                t = w.get(f"{p}self_attn.{hf}.{suffix}")
                if t is None:
                    continue
                if arch == "deepseek" and hf in ("q_proj", "k_proj"):
                    t = _rope_interleave(t, nh if hf == "q_proj" else nkv)
                out.append((f"{b}{gg}.{suffix}", t))
        out.append((b + "ffn_norm.weight", w[p + "post_attention_layernorm.weight"]))
        if not is_moe_layer(cfg, layer):
            for n in ("gate", "up", "down"):
                out.append((f"{b}ffn_{n}.weight", w[f"{p}mlp.{n}_proj.weight"]))
            continue
        out.append((b + "ffn_gate_inp.weight", w[p + "mlp.gate.weight"]))
        for n in ("gate", "up", "down"):
            stack = np.stack([w[f"{p}mlp.experts.{x}.{n}_proj.weight"] for x in range(num_experts(cfg))])
            out.append((f"{b}ffn_{n}_exps.weight", stack))
        shared = p + ("mlp.shared_expert." if arch == "qwen2_moe" else "mlp.shared_experts.")
        if shared + "gate_proj.weight" in w:
            for n in ("gate", "up", "down"):
                out.append((f"{b}ffn_{n}_shexp.weight", w[f"{shared}{n}_proj.weight"]))
        if p + "mlp.shared_expert_gate.weight" in w:
            out.append((b + "ffn_gate_inp_shexp.weight", w[p + "mlp.shared_expert_gate.weight"].reshape(-1)))
    out.append(("output_norm.weight", w["model.norm.weight"]))
    if "lm_head.weight" in w:
        out.append(("output.weight", w["lm_head.weight"]))
    return out


def tensor_type(name, array, kind):
    """The type a tensor is stored in for a file of type kind: weight matrices whose rows are a
    whole number of blocks take kind; routers, norms, biases and anything else stay F32."""
    if kind == "F32" or array.ndim < 2 or not name.endswith(".weight"):
        return "F32"
    if "ffn_gate_inp" in name:
        return "F32"
    if kind in BLOCK_SIZE and array.shape[-1] % BLOCK_SIZE[kind] != 0:
        return "F32"
    return kind


def model_metadata(cfg, kind, name):
    """general.* and {arch}.* keys, as TextModel / Qwen2MoeModel / DeepseekModel.set_gguf_parameters
    write them."""
    arch = {"qwen2_moe": "qwen2moe", "deepseek": "deepseek"}[cfg["model_type"]]
    h, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    m = {
        "general.architecture": ("string", arch),
        "general.name": ("string", name),
        "general.file_type": ("uint32", FILE_TYPE[kind]),
        "general.quantization_version": ("uint32", 2),
        f"{arch}.block_count": ("uint32", cfg["num_hidden_layers"]),
        f"{arch}.context_length": ("uint32", cfg["max_position_embeddings"]),
        f"{arch}.embedding_length": ("uint32", h),
        f"{arch}.feed_forward_length": ("uint32", cfg["intermediate_size"]),
        f"{arch}.attention.head_count": ("uint32", nh),
        f"{arch}.attention.head_count_kv": ("uint32", cfg["num_key_value_heads"]),
        f"{arch}.rope.freq_base": ("float32", float(cfg["rope_theta"])),
        f"{arch}.attention.layer_norm_rms_epsilon": ("float32", float(cfg["rms_norm_eps"])),
        f"{arch}.expert_count": ("uint32", num_experts(cfg)),
        f"{arch}.expert_used_count": ("uint32", cfg["num_experts_per_tok"]),
        f"{arch}.expert_feed_forward_length": ("uint32", cfg["moe_intermediate_size"]),
    }
    if arch == "qwen2moe":
        m[f"{arch}.expert_shared_feed_forward_length"] = ("uint32", cfg["shared_expert_intermediate_size"])
    else:
        m[f"{arch}.rope.dimension_count"] = ("uint32", h // nh)
        m[f"{arch}.leading_dense_block_count"] = ("uint32", cfg["first_k_dense_replace"])
        m[f"{arch}.vocab_size"] = ("uint32", cfg["vocab_size"])
        m[f"{arch}.expert_weights_scale"] = ("float32", 1.0)
        m[f"{arch}.expert_shared_count"] = ("uint32", cfg["n_shared_experts"] or 0)
        m[f"{arch}.expert_gating_func"] = ("uint32", 1)  # softmax
    if cfg["norm_topk_prob"]:
        m[f"{arch}.expert_weights_norm"] = ("bool", True)
    return m


def export(path, cfg, w, kind, tokenizer, name):
    """Write the GGUF copy of checkpoint (cfg, w) with weight matrices in tensor type kind."""
    if cfg["model_type"] == "qwen2_moe" and not all(is_moe_layer(cfg, l) for l in range(cfg["num_hidden_layers"])):
        raise ValueError("llama.cpp's qwen2moe architecture has no dense layers")
    if cfg["model_type"] == "deepseek" and cfg["moe_layer_freq"] != 1:
        raise ValueError("llama.cpp's deepseek architecture has no moe_layer_freq")
    meta = model_metadata(cfg, kind, name)
    meta.update(tokenizer.gguf_metadata(cfg["vocab_size"]))
    tensors = [(n, a, tensor_type(n, a, kind)) for n, a in gguf_tensors(cfg, w)]
    write_gguf(path, meta, tensors)
    return sorted({k for _, _, k in tensors})
