#!/usr/bin/env python3
"""Writes the small seed corpora under corpus/<target>/ (run from this folder). Deterministic;
the files are committed so the fuzz job starts from valid inputs of every kind."""
import json
import os
import struct


def write(target, name, data):
    os.makedirs(os.path.join("corpus", target), exist_ok=True)
    with open(os.path.join("corpus", target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, alignment=32):
    """kvs: (key, type, encoded value); tensors: (name, ne, ggml type, data)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, typ, value in kvs:
        out += gguf_string(key) + struct.pack("<I", typ) + value
    data = b""
    for name, ne, typ, payload in tensors:
        data += b"\0" * (-len(data) % alignment)
        out += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", typ, len(data))
        data += payload
    out += b"\0" * (-len(out) % alignment)
    return out + data


U32, F32, BOOL, STRING, ARRAY = 4, 6, 7, 8, 9


def u32(k, v):
    return (k, U32, struct.pack("<I", v))


def tiny_qwen2moe_gguf():
    a = "qwen2moe"
    toks = ["a", "b", "c", "ab", "<s>", "</s>", "x", "y"]
    kvs = [
        ("general.architecture", STRING, gguf_string(a)),
        u32(a + ".block_count", 1), u32(a + ".embedding_length", 32), u32(a + ".attention.head_count", 2),
        u32(a + ".attention.head_count_kv", 1), u32(a + ".expert_count", 2), u32(a + ".expert_used_count", 1),
        u32(a + ".expert_feed_forward_length", 32), u32(a + ".expert_shared_feed_forward_length", 32),
        u32(a + ".feed_forward_length", 64), (a + ".rope.freq_base", F32, struct.pack("<f", 1e6)),
        ("tokenizer.ggml.model", STRING, gguf_string("gpt2")),
        ("tokenizer.ggml.pre", STRING, gguf_string("qwen2")),
        ("tokenizer.ggml.tokens", ARRAY, struct.pack("<IQ", STRING, len(toks)) + b"".join(gguf_string(t) for t in toks)),
        ("tokenizer.ggml.token_type", ARRAY, struct.pack("<IQ", 5, len(toks)) + struct.pack("<8i", *([1] * 8))),
        ("tokenizer.ggml.merges", ARRAY, struct.pack("<IQ", STRING, 1) + gguf_string("a b")),
        u32("tokenizer.ggml.bos_token_id", 4), u32("tokenizer.ggml.eos_token_id", 5),
        ("tokenizer.ggml.add_bos_token", BOOL, b"\1"),
    ]
    q8 = struct.pack("<H", 0x3C00) + bytes(range(32))  # one Q8_0 block

    def f32(ne):
        n = 1
        for d in ne:
            n *= d
        return struct.pack("<H", 0x3800) * n  # f16 0.5

    tensors = [("token_embd.weight", [32, 8], 8, q8 * 8), ("output_norm.weight", [32], 1, f32([32]))]
    p = "blk.0."
    for name, ne in [("attn_norm.weight", [32]), ("attn_q.weight", [32, 32]), ("attn_k.weight", [32, 16]),
                     ("attn_v.weight", [32, 16]), ("attn_q.bias", [32]), ("attn_k.bias", [16]), ("attn_v.bias", [16]),
                     ("attn_output.weight", [32, 32]), ("ffn_norm.weight", [32]), ("ffn_gate_inp.weight", [32, 2]),
                     ("ffn_gate_shexp.weight", [32, 32]), ("ffn_up_shexp.weight", [32, 32]),
                     ("ffn_down_shexp.weight", [32, 32]), ("ffn_gate_inp_shexp.weight", [32])]:
        tensors.append((p + name, ne, 1, f32(ne)))
    for name in ("ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"):
        tensors.append((p + name, [32, 32, 2], 8, q8 * 64))
    q4_0 = struct.pack("<H", 0x4000) + bytes(range(16))
    q4_k = struct.pack("<HH", 0x3C00, 0x3800) + bytes(range(12)) + bytes(range(128))
    tensors += [("extra.q4_0", [32], 2, q4_0), ("extra.q4_k", [256], 12, q4_k), ("extra.bf16", [2], 30, b"\x80\x3f\x40\xc0"),
                ("extra.f16", [2], 1, b"\x00\x3c\x00\xc0")]
    return gguf(kvs, tensors)


if __name__ == "__main__":
    write("safetensors_header_fuzz", "small.safetensors", safetensors(
        [("a", "F32", [2, 2], bytes(16)), ("b", "BF16", [3], bytes(6)), ("c", "I64", [1], bytes(8)),
         ("d", "BOOL", [], b"\1"), ("e", "U8", [0], b"")], {"format": "pt"}))
    write("safetensors_header_fuzz", "empty.safetensors", safetensors([]))
    write("gguf_fuzz", "tiny_qwen2moe.gguf", tiny_qwen2moe_gguf())
    write("gguf_fuzz", "empty.gguf", gguf([("general.alignment", U32, struct.pack("<I", 64))], []))
    root = os.path.join("..", "..", "assets", "configs")
    for model in ("Qwen1.5-MoE-A2.7B", "deepseek-moe-16b-base"):
        with open(os.path.join(root, model, "config.json")) as f:
            write("hf_config_fuzz", model + ".json", f.read())
    write("hf_config_fuzz", "spellings.json", json.dumps({
        "model_type": "qwen2_moe", "hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_experts": 4, "num_experts_per_tok": 2, "dtype": "bfloat16",
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6}, "sliding_window": None,
        "layer_types": ["full_attention", "sliding_attention", "full_attention"], "mlp_only_layers": [2],
        "eos_token_id": [1, 2]}))
    write("hf_config_fuzz", "index.json", json.dumps({"metadata": {"total_size": 16},
                                                     "weight_map": {"a": "model-00001-of-00002.safetensors"}}))
