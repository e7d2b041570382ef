#include "loaders/model_description.h"

#include <algorithm>

#include "loaders/load_error.h"

namespace vkmoe {

std::string_view role_name(TensorRole r) {
  switch (r) {
    case TensorRole::kTokenEmbedding:
      return "token embedding";
    case TensorRole::kOutputNorm:
      return "final norm";
    case TensorRole::kLmHead:
      return "lm_head";
    case TensorRole::kAttnNorm:
      return "attention norm";
    case TensorRole::kQ:
      return "attention q projection";
    case TensorRole::kK:
      return "attention k projection";
    case TensorRole::kV:
      return "attention v projection";
    case TensorRole::kQBias:
      return "attention q bias";
    case TensorRole::kKBias:
      return "attention k bias";
    case TensorRole::kVBias:
      return "attention v bias";
    case TensorRole::kO:
      return "attention output projection";
    case TensorRole::kOBias:
      return "attention output bias";
    case TensorRole::kFfnNorm:
      return "MLP norm";
    case TensorRole::kDenseGate:
      return "dense MLP gate projection";
    case TensorRole::kDenseUp:
      return "dense MLP up projection";
    case TensorRole::kDenseDown:
      return "dense MLP down projection";
    case TensorRole::kRouter:
      return "router";
    case TensorRole::kExpertGate:
      return "routed expert gate projection";
    case TensorRole::kExpertUp:
      return "routed expert up projection";
    case TensorRole::kExpertDown:
      return "routed expert down projection";
    case TensorRole::kExpertsGateUp:
      return "fused routed experts gate+up projection";
    case TensorRole::kExpertsGate:
      return "stacked routed experts gate projection";
    case TensorRole::kExpertsUp:
      return "stacked routed experts up projection";
    case TensorRole::kExpertsDown:
      return "routed experts down projection";
    case TensorRole::kSharedGate:
      return "shared expert gate projection";
    case TensorRole::kSharedUp:
      return "shared expert up projection";
    case TensorRole::kSharedDown:
      return "shared expert down projection";
    case TensorRole::kSharedExpertGate:
      return "shared expert gate";
  }
  return "?";
}

std::string_view layout_name(ExpertLayout l) {
  switch (l) {
    case ExpertLayout::kPerExpert:
      return "per-expert";
    case ExpertLayout::kFused:
      return "fused";
    case ExpertLayout::kStacked:
      return "stacked";
  }
  return "?";
}

std::int64_t hf_row(std::int64_t file_row, std::int64_t head_dim) {
  const std::int64_t head = file_row / head_dim;
  const std::int64_t r = file_row % head_dim;
  return head * head_dim + (r % 2) * (head_dim / 2) + r / 2;
}

namespace {

class Builder {
 public:
  explicit Builder(const ModelConfig& c) : c_(c) {}

  void globals_begin() {
    add("model.embed_tokens.weight", TensorRole::kTokenEmbedding, -1, -1,
        {c_.vocab_size, c_.hidden_size});
  }

  void globals_end() {
    add("model.norm.weight", TensorRole::kOutputNorm, -1, -1, {c_.hidden_size});
    if (!c_.tie_word_embeddings) {
      add("lm_head.weight", TensorRole::kLmHead, -1, -1, {c_.vocab_size, c_.hidden_size});
    }
  }

  void layer(std::int32_t l, ExpertLayout layout) {
    const std::int64_t h = c_.hidden_size;
    const std::int64_t q = c_.num_heads * c_.head_dim;
    const std::int64_t kv = c_.num_kv_heads * c_.head_dim;
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", TensorRole::kAttnNorm, l, -1, {h});
    add(p + "self_attn.q_proj.weight", TensorRole::kQ, l, -1, {q, h});
    add(p + "self_attn.k_proj.weight", TensorRole::kK, l, -1, {kv, h});
    add(p + "self_attn.v_proj.weight", TensorRole::kV, l, -1, {kv, h});
    if (c_.attention_bias) {
      add(p + "self_attn.q_proj.bias", TensorRole::kQBias, l, -1, {q});
      add(p + "self_attn.k_proj.bias", TensorRole::kKBias, l, -1, {kv});
      add(p + "self_attn.v_proj.bias", TensorRole::kVBias, l, -1, {kv});
    }
    add(p + "self_attn.o_proj.weight", TensorRole::kO, l, -1, {h, q});
    if (c_.attention_bias && c_.arch == Arch::kDeepseek) {
      add(p + "self_attn.o_proj.bias", TensorRole::kOBias, l, -1, {h});
    }
    add(p + "post_attention_layernorm.weight", TensorRole::kFfnNorm, l, -1, {h});

    if (!c_.is_moe(l)) {
      const std::int64_t i = c_.intermediate_size;
      add(p + "mlp.gate_proj.weight", TensorRole::kDenseGate, l, -1, {i, h});
      add(p + "mlp.up_proj.weight", TensorRole::kDenseUp, l, -1, {i, h});
      add(p + "mlp.down_proj.weight", TensorRole::kDenseDown, l, -1, {h, i});
      return;
    }
    const std::int64_t e = c_.num_experts;
    const std::int64_t i = c_.moe_intermediate_size;
    add(p + "mlp.gate.weight", TensorRole::kRouter, l, -1, {e, h});
    const std::string x = p + "mlp.experts.";
    switch (layout) {
      case ExpertLayout::kPerExpert:
        for (std::int32_t k = 0; k < e; ++k) {
          const std::string xe = x + std::to_string(k) + ".";
          add(xe + "gate_proj.weight", TensorRole::kExpertGate, l, k, {i, h});
          add(xe + "up_proj.weight", TensorRole::kExpertUp, l, k, {i, h});
          add(xe + "down_proj.weight", TensorRole::kExpertDown, l, k, {h, i});
        }
        break;
      case ExpertLayout::kFused:
        add(x + "gate_up_proj", TensorRole::kExpertsGateUp, l, -1, {e, 2 * i, h});
        add(x + "down_proj", TensorRole::kExpertsDown, l, -1, {e, h, i});
        break;
      case ExpertLayout::kStacked:
        add(x + "gate_proj.weight", TensorRole::kExpertsGate, l, -1, {e, i, h});
        add(x + "up_proj.weight", TensorRole::kExpertsUp, l, -1, {e, i, h});
        add(x + "down_proj.weight", TensorRole::kExpertsDown, l, -1, {e, h, i});
        break;
    }
    if (c_.shared_intermediate_size > 0) {
      const std::int64_t s = c_.shared_intermediate_size;
      const std::string sp =
          p + (c_.arch == Arch::kQwen2Moe ? "mlp.shared_expert." : "mlp.shared_experts.");
      add(sp + "gate_proj.weight", TensorRole::kSharedGate, l, -1, {s, h});
      add(sp + "up_proj.weight", TensorRole::kSharedUp, l, -1, {s, h});
      add(sp + "down_proj.weight", TensorRole::kSharedDown, l, -1, {h, s});
      if (c_.shared_expert_gated) {
        add(p + "mlp.shared_expert_gate.weight", TensorRole::kSharedExpertGate, l, -1, {1, h});
      }
    }
  }

  std::vector<TensorSpec> take() { return std::move(out_); }

 private:
  void add(std::string name, TensorRole role, std::int32_t layer, std::int32_t expert,
           std::vector<std::int64_t> shape) {
    out_.push_back({std::move(name), role, layer, expert, std::move(shape)});
  }

  const ModelConfig& c_;
  std::vector<TensorSpec> out_;
};

// Shapes equal up to leading 1s ([1, H] and [H] are the same tensor: GGUF drops them).
bool same_shape(std::span<const std::int64_t> a, std::span<const std::int64_t> b) {
  while (!a.empty() && a.front() == 1) a = a.subspan(1);
  while (!b.empty() && b.front() == 1) b = b.subspan(1);
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

std::string where(const TensorSpec& s) {
  std::string w(role_name(s.role));
  if (s.layer >= 0) w += " of layer " + std::to_string(s.layer);
  if (s.expert >= 0) w += ", expert " + std::to_string(s.expert);
  return w;
}

bool is_expert_role(TensorRole r) {
  return r == TensorRole::kExpertGate || r == TensorRole::kExpertUp ||
         r == TensorRole::kExpertDown || r == TensorRole::kExpertsGateUp ||
         r == TensorRole::kExpertsGate || r == TensorRole::kExpertsUp ||
         r == TensorRole::kExpertsDown;
}

}  // namespace

std::vector<TensorSpec> describe_tensors(const ModelConfig& c, ExpertLayout layout) {
  Builder b(c);
  b.globals_begin();
  for (std::int32_t l = 0; l < c.num_layers; ++l) b.layer(l, layout);
  b.globals_end();
  return b.take();
}

const ResolvedTensor* ResolvedModel::find(TensorRole role, std::int32_t layer,
                                          std::int32_t expert) const {
  for (const ResolvedTensor& t : tensors) {
    if (t.spec.role == role && t.spec.layer == layer && t.spec.expert == expert) return &t;
  }
  return nullptr;
}

std::uint64_t ResolvedModel::weight_bytes() const {
  std::uint64_t n = 0;
  for (const ResolvedTensor& t : tensors) n += t.view->bytes.size();
  return n;
}

ResolvedModel resolve_tensors(const ModelConfig& c, const TensorLookup& lookup,
                              std::string_view source) {
  const std::string src(source);
  ResolvedModel m;
  m.config = c;
  m.layout.assign(c.num_layers, ExpertLayout::kPerExpert);
  Builder b(c);
  b.globals_begin();
  for (std::int32_t l = 0; l < c.num_layers; ++l) {
    if (c.is_moe(l)) {
      const std::string x = "model.layers." + std::to_string(l) + ".mlp.experts.";
      if (lookup(x + "gate_up_proj") != nullptr) {
        m.layout[l] = ExpertLayout::kFused;
      } else if (lookup(x + "gate_proj.weight") != nullptr) {
        m.layout[l] = ExpertLayout::kStacked;
      }
    }
    b.layer(l, m.layout[l]);
  }
  b.globals_end();

  for (TensorSpec& spec : b.take()) {
    const TensorView* v = lookup(spec.name);
    if (v == nullptr) {
      std::string msg = src + ": missing tensor '" + spec.name + "' (" + where(spec) + ", " +
                        std::string(arch_name(c.arch)) + ")";
      if (is_expert_role(spec.role)) {
        const std::string x = "model.layers." + std::to_string(spec.layer) + ".mlp.experts.";
        msg += "; routed experts are read per expert ('" + x + "{e}.gate_proj.weight'), fused ('" +
               x + "gate_up_proj', '" + x + "down_proj') or stacked ('" + x +
               "gate_proj.weight', '" + x + "up_proj.weight', '" + x + "down_proj.weight')";
      } else if (spec.role == TensorRole::kLmHead) {
        msg += "; the config says tie_word_embeddings is false";
      }
      throw LoadError(msg);
    }
    if (!dtype_is_float(v->dtype)) {
      throw LoadError(src + ": tensor '" + spec.name + "' has dtype " +
                      std::string(dtype_name(v->dtype)) +
                      ", expected F32, F16, BF16, Q8_0, Q4_0 or Q4_K");
    }
    if (!same_shape(v->shape, spec.shape)) {
      throw LoadError(src + ": tensor '" + spec.name + "' (" + where(spec) + ") has shape " +
                      shape_string(v->shape) + ", expected " + shape_string(spec.shape));
    }
    m.tensors.push_back({std::move(spec), v, RowOrder::kAsIs, 0});
  }
  return m;
}

}  // namespace vkmoe
