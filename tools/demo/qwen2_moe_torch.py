"""A Qwen2-MoE decoder in PyTorch for training the demo model, with the semantics of
transformers' modeling_qwen2_moe.py: RMSNorm in fp32, q/k/v biases, grouped-query attention with
NeoX RoPE (rotate_half), a softmax router with top-k (weights not renormalised unless
norm_topk_prob), SwiGLU experts, and a sigmoid-gated shared expert. Parameter names are the
Hugging Face checkpoint's, so state_dict() is what the checkpoint stores.

Each expert runs on the tokens routed to it only (gathered, then scattered back weighted).
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


class SwiGLU(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg["num_key_value_heads"]
        self.head_dim = h // self.heads
        self.q_proj = nn.Linear(h, self.heads * self.head_dim, bias=True)
        self.k_proj = nn.Linear(h, self.kv_heads * self.head_dim, bias=True)
        self.v_proj = nn.Linear(h, self.kv_heads * self.head_dim, bias=True)
        self.o_proj = nn.Linear(self.heads * self.head_dim, h, bias=False)
        inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        angles = torch.outer(torch.arange(t, dtype=torch.float32, device=x.device), self.inv_freq)
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        repeat = self.heads // self.kv_heads
        k = k.repeat_interleave(repeat, dim=1)
        v = v.repeat_interleave(repeat, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        out = torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class SparseMoe(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.top_k = cfg["num_experts_per_tok"]
        self.norm_topk_prob = cfg["norm_topk_prob"]
        self.gate = nn.Linear(h, cfg["num_experts"], bias=False)
        self.experts = nn.ModuleList(SwiGLU(h, cfg["moe_intermediate_size"])
                                     for _ in range(cfg["num_experts"]))
        self.shared_expert = SwiGLU(h, cfg["shared_expert_intermediate_size"])
        self.shared_expert_gate = nn.Linear(h, 1, bias=False)

    def forward(self, x):
        probs = torch.softmax(self.gate(x).float(), dim=-1)
        top, which = probs.topk(self.top_k, dim=-1)
        if self.norm_topk_prob:
            top = top / top.sum(-1, keepdim=True)
        weights = torch.zeros_like(probs).scatter(-1, which, top).to(x.dtype)
        flat_x, flat_w = x.reshape(-1, x.shape[-1]), weights.reshape(-1, weights.shape[-1])
        routed = torch.zeros_like(flat_x)
        for e, expert in enumerate(self.experts):
            rows = (flat_w[:, e] > 0).nonzero().squeeze(-1)
            if rows.numel():
                routed = routed.index_add(0, rows, flat_w[rows, e:e + 1] * expert(flat_x[rows]))
        routed = routed.view_as(x)
        shared = torch.sigmoid(self.shared_expert_gate(x)) * self.shared_expert(x)
        # Switch-style balance term (fraction routed × mean probability), as the HF aux loss.
        routed_fraction = (weights > 0).float().mean(dim=(0, 1))
        self.balance = len(self.experts) * (routed_fraction * probs.mean(dim=(0, 1))).sum()
        return routed + shared


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = SparseMoe(cfg)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class Qwen2MoeForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg["tie_word_embeddings"], "the demo model ties lm_head to the embeddings"
        self.model = Body(cfg)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=cfg["initializer_range"])

    def forward(self, ids):
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x)
        return self.model.norm(x) @ self.model.embed_tokens.weight.T

    def balance_loss(self):
        return sum(layer.mlp.balance for layer in self.model.layers) / len(self.model.layers)
