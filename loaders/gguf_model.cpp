#include "loaders/gguf_model.h"

#include <charconv>

#include "loaders/load_error.h"

namespace vkmoe {

namespace {

class Meta {
 public:
  Meta(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw LoadError(f_.name() + ": metadata key '" + key + "' " + what);
  }

  std::string key(std::string_view suffix) const { return arch_ + "." + std::string(suffix); }

  std::int64_t integer(const std::string& k, std::optional<std::int64_t> fallback, std::int64_t lo,
                       std::int64_t hi) const {
    const GgufValue* v = f_.find(k);
    if (v == nullptr) {
      if (!fallback) fail(k, "is missing");
      return *fallback;
    }
    const auto x = v->as_int();
    if (!x) fail(k, "is " + std::string(gguf_type_name(v->type)) + ", expected an integer");
    if (*x < lo || *x > hi) {
      fail(k, "is " + std::to_string(*x) + ", expected " + std::to_string(lo) + ".." +
                  std::to_string(hi));
    }
    return *x;
  }

  double number(const std::string& k, double fallback) const {
    const GgufValue* v = f_.find(k);
    if (v == nullptr) return fallback;
    const auto x = v->as_number();
    if (!x) fail(k, "is " + std::string(gguf_type_name(v->type)) + ", expected a number");
    return *x;
  }

  bool boolean(const std::string& k, bool fallback) const {
    const GgufValue* v = f_.find(k);
    if (v == nullptr) return fallback;
    const auto x = v->as_bool();
    if (!x) fail(k, "is " + std::string(gguf_type_name(v->type)) + ", expected a bool");
    return *x;
  }

  std::string string(const std::string& k) const {
    const GgufValue* v = f_.find(k);
    if (v == nullptr) fail(k, "is missing");
    const auto s = v->as_string();
    if (!s) fail(k, "is " + std::string(gguf_type_name(v->type)) + ", expected a string");
    return std::string(*s);
  }

 private:
  const GgufFile& f_;
  std::string arch_;
};

std::optional<Arch> parse_arch(std::string_view s) {
  if (s == "qwen2moe") return Arch::kQwen2Moe;
  if (s == "deepseek") return Arch::kDeepseek;
  return std::nullopt;
}

}  // namespace

ModelConfig gguf_model_config(const GgufFile& f) {
  const Meta general(f, "general");
  const std::string arch_name_s = general.string("general.architecture");
  const auto arch = parse_arch(arch_name_s);
  if (!arch) {
    throw LoadError(f.name() + ": general.architecture '" + arch_name_s +
                    "' is not supported (supported: qwen2moe, deepseek)");
  }
  const Meta m(f, arch_name_s);
  ModelConfig c;
  c.arch = *arch;
  c.num_layers = m.integer(m.key("block_count"), {}, 1, kMaxLayers);
  c.hidden_size = m.integer(m.key("embedding_length"), {}, 1, kMaxWidth);
  c.num_heads = m.integer(m.key("attention.head_count"), {}, 1, kMaxHeads);
  c.num_kv_heads = m.integer(m.key("attention.head_count_kv"), c.num_heads, 1, kMaxHeads);
  c.head_dim = m.integer(m.key("attention.key_length"), c.hidden_size / c.num_heads, 1, kMaxWidth);
  c.max_position_embeddings = m.integer(m.key("context_length"), 4096, 1, INT64_MAX);
  c.rms_norm_eps = m.number(m.key("attention.layer_norm_rms_epsilon"), 1e-6);
  c.rope_theta = m.number(m.key("rope.freq_base"), 10000.0);
  c.num_experts = m.integer(m.key("expert_count"), 0, 0, kMaxExperts);
  c.experts_per_token =
      m.integer(m.key("expert_used_count"),
                c.num_experts > 0 ? std::nullopt : std::optional<std::int64_t>(0), 0, kMaxExperts);
  c.moe_intermediate_size =
      m.integer(m.key("expert_feed_forward_length"),
                c.num_experts > 0 ? std::nullopt : std::optional<std::int64_t>(0), 0, kMaxWidth);
  c.norm_topk_prob = m.boolean(m.key("expert_weights_norm"), false);
  c.routed_scaling_factor = m.number(m.key("expert_weights_scale"), 1.0);

  std::int64_t leading_dense = 0;
  if (c.arch == Arch::kQwen2Moe) {
    std::int64_t shared_default = 0;
    if (const TensorView* t = f.find_tensor("blk.0.ffn_gate_shexp.weight");
        t && !t->shape.empty()) {
      shared_default = t->shape.front();
    }
    c.shared_intermediate_size =
        m.integer(m.key("expert_shared_feed_forward_length"), shared_default, 0, kMaxWidth);
    c.num_shared_experts = c.shared_intermediate_size > 0 ? 1 : 0;
    c.shared_expert_gated = c.shared_intermediate_size > 0;
    c.attention_bias = true;
  } else {
    c.num_shared_experts = m.integer(m.key("expert_shared_count"), 0, 0, kMaxExperts);
    c.shared_intermediate_size = c.num_shared_experts * c.moe_intermediate_size;
    leading_dense = m.integer(m.key("leading_dense_block_count"), 0, 0, c.num_layers);
    c.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  }
  const bool has_dense = leading_dense > 0 || c.num_experts == 0;
  c.intermediate_size =
      m.integer(m.key("feed_forward_length"),
                has_dense ? std::nullopt : std::optional<std::int64_t>(0), 0, kMaxWidth);
  c.ffn.assign(c.num_layers, FfnKind::kDense);
  for (std::int64_t l = 0; l < c.num_layers; ++l) {
    if (c.num_experts > 0 && l >= leading_dense) c.ffn[l] = FfnKind::kMoe;
  }
  c.attention.assign(c.num_layers, AttentionKind::kFull);

  const TensorView* embd = f.find_tensor("token_embd.weight");
  std::int64_t vocab_default = embd && !embd->shape.empty() ? embd->shape.front() : 0;
  if (const GgufValue* toks = f.find("tokenizer.ggml.tokens"); toks && toks->as_array()) {
    vocab_default =
        static_cast<std::int64_t>(std::min<std::uint64_t>(toks->as_array()->count, kMaxVocab + 1));
  }
  c.vocab_size = m.integer(m.key("vocab_size"), vocab_default, 1, kMaxVocab);
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  const TensorView* q = f.find_tensor("blk.0.attn_q.weight");
  c.dtype = q ? q->dtype : embd ? embd->dtype : DType::kF32;

  if (const GgufValue* b = f.find("tokenizer.ggml.bos_token_id"); b && b->as_int())
    c.bos_token_id = *b->as_int();
  if (const GgufValue* e = f.find("tokenizer.ggml.eos_token_id"); e && e->as_int())
    c.eos_token_ids = {*e->as_int()};
  check_model_config(c, f.name());
  return c;
}

std::string gguf_to_hf_name(std::string_view n, Arch arch) {
  if (n == "token_embd.weight") return "model.embed_tokens.weight";
  if (n == "output_norm.weight") return "model.norm.weight";
  if (n == "output.weight") return "lm_head.weight";
  if (n.substr(0, 4) != "blk.") return {};
  const std::string_view rest = n.substr(4);
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  unsigned layer = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + dot, layer);
  if (ec != std::errc() || end != rest.data() + dot) return {};
  const std::string_view t = rest.substr(dot + 1);
  const std::string shared = arch == Arch::kQwen2Moe ? "mlp.shared_expert." : "mlp.shared_experts.";
  static const std::pair<std::string_view, std::string_view> kMap[] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_output.bias", "self_attn.o_proj.bias"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_gate_inp.weight", "mlp.gate.weight"},
      {"ffn_gate_exps.weight", "mlp.experts.gate_proj.weight"},
      {"ffn_up_exps.weight", "mlp.experts.up_proj.weight"},
      {"ffn_down_exps.weight", "mlp.experts.down_proj.weight"},
      {"ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight"},
  };
  const std::string prefix = "model.layers." + std::to_string(layer) + ".";
  for (const auto& [g, h] : kMap) {
    if (t == g) return prefix + std::string(h);
  }
  if (t == "ffn_gate_shexp.weight") return prefix + shared + "gate_proj.weight";
  if (t == "ffn_up_shexp.weight") return prefix + shared + "up_proj.weight";
  if (t == "ffn_down_shexp.weight") return prefix + shared + "down_proj.weight";
  return {};
}

ResolvedModel resolve_gguf_model(const GgufFile& f) {
  const ModelConfig c = gguf_model_config(f);
  std::map<std::string, const TensorView*, std::less<>> by_hf;
  for (const TensorView& t : f.tensors()) {
    std::string hf = gguf_to_hf_name(t.name, c.arch);
    if (!hf.empty()) by_hf.emplace(std::move(hf), &t);
  }
  ResolvedModel m = resolve_tensors(
      c,
      [&](std::string_view name) -> const TensorView* {
        const auto it = by_hf.find(name);
        return it == by_hf.end() ? nullptr : it->second;
      },
      f.name());
  if (c.arch == Arch::kDeepseek) {
    for (ResolvedTensor& t : m.tensors) {
      const TensorRole r = t.spec.role;
      if (r == TensorRole::kQ || r == TensorRole::kK || r == TensorRole::kQBias ||
          r == TensorRole::kKBias) {
        t.rows = RowOrder::kRopeInterleaved;
        t.rope_head_dim = c.head_dim;
      }
    }
  }
  return m;
}

GgufTokenizer gguf_tokenizer(const GgufFile& f) {
  GgufTokenizer t;
  const Meta m(f, "tokenizer.ggml");
  if (f.find("tokenizer.ggml.model")) t.model = m.string("tokenizer.ggml.model");
  if (f.find("tokenizer.ggml.pre")) t.pre = m.string("tokenizer.ggml.pre");
  t.tokens = f.strings("tokenizer.ggml.tokens");
  const auto n = static_cast<std::int64_t>(t.tokens.size());
  if (f.find("tokenizer.ggml.scores")) t.scores = f.floats("tokenizer.ggml.scores");
  if (f.find("tokenizer.ggml.token_type")) t.token_types = f.ints("tokenizer.ggml.token_type");
  if (f.find("tokenizer.ggml.merges")) t.merges = f.strings("tokenizer.ggml.merges");
  if (!t.scores.empty() && static_cast<std::int64_t>(t.scores.size()) != n) {
    m.fail("tokenizer.ggml.scores", "has " + std::to_string(t.scores.size()) + " entries for " +
                                        std::to_string(n) + " tokens");
  }
  if (!t.token_types.empty() && static_cast<std::int64_t>(t.token_types.size()) != n) {
    m.fail("tokenizer.ggml.token_type", "has " + std::to_string(t.token_types.size()) +
                                            " entries for " + std::to_string(n) + " tokens");
  }
  const auto id = [&](const char* key) -> std::optional<std::int64_t> {
    if (!f.find(key)) return std::nullopt;
    return m.integer(key, {}, 0, n - 1);
  };
  t.bos_id = id("tokenizer.ggml.bos_token_id");
  t.eos_id = id("tokenizer.ggml.eos_token_id");
  t.unknown_id = id("tokenizer.ggml.unknown_token_id");
  t.padding_id = id("tokenizer.ggml.padding_token_id");
  if (f.find("tokenizer.ggml.add_bos_token"))
    t.add_bos = m.boolean("tokenizer.ggml.add_bos_token", false);
  return t;
}

}  // namespace vkmoe
