#!/usr/bin/env python3
"""Writes config-only copies of two real MoE checkpoints: config.json as published on the
Hugging Face Hub, and a model.safetensors.index.json listing every tensor (per-expert layout, the
layout of the published files) with the shard it would be in, but no weights.

Used by `vkmoe info` tests: parameter counts, memory estimates and tensor lists of full-size
models without downloading ~30 GB each. Run from this folder: python3 make_configs.py
"""
import json
import os

QWEN = {
    "architectures": ["Qwen2MoeForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "decoder_sparse_step": 1,
    "eos_token_id": 151643,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 5632,
    "max_position_embeddings": 8192,
    "max_window_layers": 21,
    "model_type": "qwen2_moe",
    "moe_intermediate_size": 1408,
    "norm_topk_prob": False,
    "num_attention_heads": 16,
    "num_experts": 60,
    "num_experts_per_tok": 4,
    "num_hidden_layers": 24,
    "num_key_value_heads": 16,
    "output_router_logits": False,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "router_aux_loss_coef": 0.001,
    "shared_expert_intermediate_size": 5632,
    "sliding_window": 32768,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.0.dev0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

DEEPSEEK = {
    "architectures": ["DeepseekForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "auto_map": {
        "AutoConfig": "configuration_deepseek.DeepseekConfig",
        "AutoModel": "modeling_deepseek.DeepseekModel",
        "AutoModelForCausalLM": "modeling_deepseek.DeepseekForCausalLM",
    },
    "aux_loss_alpha": 0.001,
    "bos_token_id": 100000,
    "eos_token_id": 100001,
    "first_k_dense_replace": 1,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 10944,
    "max_position_embeddings": 4096,
    "model_type": "deepseek",
    "moe_intermediate_size": 1408,
    "moe_layer_freq": 1,
    "n_routed_experts": 64,
    "n_shared_experts": 2,
    "norm_topk_prob": False,
    "num_attention_heads": 16,
    "num_experts_per_tok": 6,
    "num_hidden_layers": 28,
    "num_key_value_heads": 16,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 10000,
    "scoring_func": "softmax",
    "seq_aux": True,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.36.0",
    "use_cache": True,
    "vocab_size": 102400,
}


def tensors(c):
    """(name, element count) of every tensor, in checkpoint order."""
    h = c["hidden_size"]
    heads = c["num_attention_heads"]
    hd = h // heads
    kv = c.get("num_key_value_heads") or heads
    qwen = c["model_type"] == "qwen2_moe"
    out = [("model.embed_tokens.weight", c["vocab_size"] * h)]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out.append((p + "input_layernorm.weight", h))
        for n, rows in (("q", heads * hd), ("k", kv * hd), ("v", kv * hd)):
            out.append((p + f"self_attn.{n}_proj.weight", rows * h))
            if qwen or c.get("attention_bias"):
                out.append((p + f"self_attn.{n}_proj.bias", rows))
        out.append((p + "self_attn.o_proj.weight", h * heads * hd))
        out.append((p + "post_attention_layernorm.weight", h))
        if qwen:
            moe = l not in c.get("mlp_only_layers", []) and (l + 1) % c["decoder_sparse_step"] == 0
            experts = c["num_experts"]
            shared, shared_prefix = c["shared_expert_intermediate_size"], "mlp.shared_expert."
        else:
            moe = l >= c["first_k_dense_replace"] and l % c["moe_layer_freq"] == 0
            experts = c["n_routed_experts"]
            shared = c["n_shared_experts"] * c["moe_intermediate_size"]
            shared_prefix = "mlp.shared_experts."
        if not moe:
            i = c["intermediate_size"]
            for n in ("gate", "up", "down"):
                out.append((p + f"mlp.{n}_proj.weight", i * h))
            continue
        out.append((p + "mlp.gate.weight", experts * h))
        i = c["moe_intermediate_size"]
        for e in range(experts):
            for n in ("gate", "up", "down"):
                out.append((p + f"mlp.experts.{e}.{n}_proj.weight", i * h))
        for n in ("gate", "up", "down"):
            out.append((p + shared_prefix + f"{n}_proj.weight", shared * h))
        if qwen:
            out.append((p + "mlp.shared_expert_gate.weight", h))
    out.append(("model.norm.weight", h))
    if not c.get("tie_word_embeddings"):
        out.append(("lm_head.weight", c["vocab_size"] * h))
    return out


def write(folder, config, shards):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    ts = tensors(config)
    total = sum(n for _, n in ts) * 2  # bfloat16
    per_shard = total / shards
    weight_map, used = {}, 0
    for name, n in ts:
        shard = min(int(used / per_shard), shards - 1) + 1
        weight_map[name] = f"model-{shard:05d}-of-{shards:05d}.safetensors"
        used += n * 2
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")
    print(f"{folder}: {len(ts)} tensors, {total / 2 / 1e9:.2f}B parameters, {total} bytes")


if __name__ == "__main__":
    write("Qwen1.5-MoE-A2.7B", QWEN, 7)
    write("deepseek-moe-16b-base", DEEPSEEK, 7)
