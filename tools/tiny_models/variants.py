"""The tiny checkpoints: a few weight families (one config + one set of seeded weights each) and
the files written from them (HF directories in several dtypes/layouts/shardings, GGUF copies).

Config fields are the real ones of Qwen2MoeConfig (transformers configuration_qwen2_moe.py) and
DeepSeek-MoE's DeepseekConfig (configuration_deepseek.py), filled like the published
Qwen1.5-MoE-A2.7B and deepseek-moe-16b-base config.json files but tiny.
"""


def qwen_config(*, hidden, heads, kv_heads, layers, experts, top_k, moe_inter, shared_inter,
                norm_topk_prob=False, dense_inter=64, sparse_step=1, mlp_only_layers=(),
                tie=False):
    return {
        "architectures": ["Qwen2MoeForCausalLM"],
        "attention_dropout": 0.0,
        "decoder_sparse_step": sparse_step,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": dense_inter,
        "max_position_embeddings": 4096,
        "max_window_layers": layers,
        "mlp_only_layers": list(mlp_only_layers),
        "model_type": "qwen2_moe",
        "moe_intermediate_size": moe_inter,
        "norm_topk_prob": norm_topk_prob,
        "num_attention_heads": heads,
        "num_experts": experts,
        "num_experts_per_tok": top_k,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "output_router_logits": False,
        "qkv_bias": True,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "router_aux_loss_coef": 0.001,
        "shared_expert_intermediate_size": shared_inter,
        "sliding_window": 4096,
        "tie_word_embeddings": tie,
        "use_cache": True,
        "use_sliding_window": False,
    }


def deepseek_config(*, hidden, heads, kv_heads, layers, experts, top_k, moe_inter, shared,
                    dense_inter, first_dense=1, norm_topk_prob=False, tie=False,
                    attention_bias=False):
    return {
        "architectures": ["DeepseekForCausalLM"],
        "attention_bias": attention_bias,
        "attention_dropout": 0.0,
        "auto_map": {
            "AutoConfig": "configuration_deepseek.DeepseekConfig",
            "AutoModel": "modeling_deepseek.DeepseekModel",
            "AutoModelForCausalLM": "modeling_deepseek.DeepseekForCausalLM",
        },
        "aux_loss_alpha": 0.001,
        "first_k_dense_replace": first_dense,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": dense_inter,
        "max_position_embeddings": 4096,
        "model_type": "deepseek",
        "moe_intermediate_size": moe_inter,
        "moe_layer_freq": 1,
        "n_routed_experts": experts,
        "n_shared_experts": shared,
        "norm_topk_prob": norm_topk_prob,
        "num_attention_heads": heads,
        "num_experts_per_tok": top_k,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 10000,
        "scoring_func": "softmax",
        "seq_aux": True,
        "tie_word_embeddings": tie,
        "use_cache": True,
    }


# name -> (config, what it exercises). Each family has its own seeded weights.
FAMILIES = {
    "qwen2_moe": (qwen_config(hidden=64, heads=4, kv_heads=2, layers=2, experts=8, top_k=2,
                              moe_inter=32, shared_inter=64),
                  "Qwen1.5-MoE shape: GQA 4:2, qkv biases, gated shared expert, untied lm_head, "
                  "norm_topk_prob false"),
    "deepseek": (deepseek_config(hidden=32, heads=4, kv_heads=4, layers=3, experts=8, top_k=3,
                                 moe_inter=32, shared=2, dense_inter=96),
                 "DeepSeek-MoE shape: dense layer 0 (first_k_dense_replace 1), 2 ungated shared "
                 "experts, no attention bias, untied lm_head"),
    "qwen2_moe-h40-top1-norm": (qwen_config(hidden=40, heads=5, kv_heads=1, layers=2, experts=4,
                                            top_k=1, moe_inter=24, shared_inter=40,
                                            norm_topk_prob=True, tie=True),
                                "hidden 40 (no tile divides it), head_dim 8, MQA, top-1 with "
                                "norm_topk_prob true (weight 1), tied embeddings"),
    "qwen2_moe-h72-topall": (qwen_config(hidden=72, heads=6, kv_heads=3, layers=2, experts=4,
                                         top_k=4, moe_inter=16, shared_inter=24,
                                         norm_topk_prob=True, tie=True),
                             "hidden 72, head_dim 12, top-k = number of experts, "
                             "norm_topk_prob true"),
    "qwen2_moe-dense-mid": (qwen_config(hidden=32, heads=4, kv_heads=2, layers=3, experts=4,
                                        top_k=2, moe_inter=16, shared_inter=32,
                                        mlp_only_layers=[1], tie=True),
                            "mlp_only_layers [1]: a dense layer between two MoE layers"),
    "qwen2_moe-sparse-step2": (qwen_config(hidden=32, heads=4, kv_heads=4, layers=2, experts=4,
                                           top_k=2, moe_inter=16, shared_inter=32, sparse_step=2,
                                           tie=True),
                               "decoder_sparse_step 2: layer 0 dense, layer 1 MoE"),
    "qwen2_moe-dead-expert": (qwen_config(hidden=32, heads=4, kv_heads=2, layers=2, experts=8,
                                          top_k=1, moe_inter=16, shared_inter=32, tie=True),
                              "top-1 over 8 experts; expert 7 can never be chosen and its "
                              "weights are NaN"),
    "deepseek-h40-top1-norm": (deepseek_config(hidden=40, heads=5, kv_heads=5, layers=2,
                                               experts=4, top_k=1, moe_inter=24, shared=1,
                                               dense_inter=48, norm_topk_prob=True, tie=True),
                               "DeepSeek top-1 with norm_topk_prob true: MoEGate only "
                               "renormalises when top_k > 1, so the weight stays the softmax "
                               "probability (Qwen would use 1)"),
    "deepseek-topall-norm": (deepseek_config(hidden=32, heads=4, kv_heads=2, layers=2, experts=4,
                                             top_k=4, moe_inter=16, shared=1, dense_inter=32,
                                             first_dense=0, norm_topk_prob=True, tie=True),
                             "first_k_dense_replace 0 (every layer MoE), GQA, top-k = number of "
                             "experts with renormalisation"),
    "deepseek-attn-bias": (deepseek_config(hidden=32, heads=4, kv_heads=2, layers=2, experts=4,
                                           top_k=2, moe_inter=16, shared=1, dense_inter=32,
                                           tie=True, attention_bias=True),
                           "DeepSeek with attention_bias: q/k/v and o_proj biases"),
    "qwen2_moe-many-experts": (qwen_config(hidden=32, heads=4, kv_heads=2, layers=2, experts=32,
                                           top_k=4, moe_inter=128, shared_inter=32, tie=True),
                               "32 experts whose stacks (256 KiB each in BF16) outgrow a small "
                               "allocation limit: loaded in parts of whole experts"),
    "qwen2_moe-h256": (qwen_config(hidden=256, heads=4, kv_heads=2, layers=1, experts=4, top_k=2,
                                   moe_inter=256, shared_inter=256, tie=True),
                       "rows of 256 for Q4_K super-blocks (GGUF only)"),
}

DEAD_EXPERT = {"qwen2_moe-dead-expert": 7}

# HF directories: name -> (family, dtype, expert layout, shards)
HF_MODELS = {
    "qwen2_moe-f32": ("qwen2_moe", "F32", "per_expert", 1),
    "qwen2_moe-bf16-fused": ("qwen2_moe", "BF16", "fused", 1),
    "qwen2_moe-bf16-sharded": ("qwen2_moe", "BF16", "per_expert", 3),
    "deepseek-f32": ("deepseek", "F32", "per_expert", 1),
    "deepseek-bf16": ("deepseek", "BF16", "per_expert", 1),
    "deepseek-attn-bias": ("deepseek-attn-bias", "F32", "per_expert", 1),
    "qwen2_moe-h40-top1-norm": ("qwen2_moe-h40-top1-norm", "F32", "per_expert", 1),
    "qwen2_moe-h72-topall": ("qwen2_moe-h72-topall", "BF16", "per_expert", 1),
    "qwen2_moe-dense-mid": ("qwen2_moe-dense-mid", "BF16", "fused", 1),
    "qwen2_moe-sparse-step2": ("qwen2_moe-sparse-step2", "BF16", "per_expert", 2),
    "qwen2_moe-dead-expert": ("qwen2_moe-dead-expert", "F32", "per_expert", 1),
    "deepseek-h40-top1-norm": ("deepseek-h40-top1-norm", "F32", "per_expert", 1),
    "deepseek-topall-norm": ("deepseek-topall-norm", "BF16", "per_expert", 1),
    "qwen2_moe-many-experts": ("qwen2_moe-many-experts", "BF16", "fused", 1),
}

# GGUF files: name -> (family, tensor type of the weight matrices)
GGUF_MODELS = {
    "qwen2_moe-h40-f32.gguf": ("qwen2_moe-h40-top1-norm", "F32"),
    "qwen2_moe-h40-f16.gguf": ("qwen2_moe-h40-top1-norm", "F16"),
    "qwen2_moe-h40-bf16.gguf": ("qwen2_moe-h40-top1-norm", "BF16"),
    "qwen2_moe-q8_0.gguf": ("qwen2_moe", "Q8_0"),
    "qwen2_moe-q4_0.gguf": ("qwen2_moe", "Q4_0"),
    "qwen2_moe-h256-q4_k.gguf": ("qwen2_moe-h256", "Q4_K"),
    "deepseek-f32.gguf": ("deepseek", "F32"),
    "deepseek-q8_0.gguf": ("deepseek", "Q8_0"),
}
