#include "loaders/hf_config.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "loaders/json_guard.h"
#include "loaders/load_error.h"
#include "loaders/mapped_file.h"

namespace vkmoe {

namespace {

using nlohmann::json;

constexpr std::string_view kSupported = "supported: qwen2_moe, deepseek";

// Typed access to the fields of one JSON object, with errors that name the file and field.
class Fields {
 public:
  Fields(const json& obj, std::string file, std::string prefix = "")
      : obj_(obj), file_(std::move(file)), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw LoadError(file_ + ": field '" + prefix_ + std::string(key) + "' " + what);
  }

  // The value, or nullptr when absent or null.
  const json* get(std::string_view key) const {
    const auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(std::string_view key) const { return get(key) != nullptr; }
  bool is_null(std::string_view key) const {
    const auto it = obj_.find(key);
    return it != obj_.end() && it->is_null();
  }

  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer()) fail(key, "is " + v->dump() + ", expected an integer");
    // is_number_integer includes unsigned; compare as unsigned first so 2^64-1 is not -1
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
      fail(key, "is " + v->dump() + ", expected " + range(lo, hi));
    }
    const auto x = v->get<std::int64_t>();
    if (x < lo || x > hi) fail(key, "is " + v->dump() + ", expected " + range(lo, hi));
    return x;
  }

  std::int64_t required_integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    if (!has(key)) fail(key, "is missing");
    return integer(key, 0, lo, hi);
  }

  double number(std::string_view key, double fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(key, "is " + v->dump() + ", expected a number");
    const double x = v->get<double>();
    if (!std::isfinite(x)) fail(key, "is not a finite number");
    return x;
  }

  bool boolean(std::string_view key, bool fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(key, "is " + v->dump() + ", expected true or false");
    return v->get<bool>();
  }

  std::string string(std::string_view key, std::string fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail(key, "is " + v->dump() + ", expected a string");
    return v->get<std::string>();
  }

  const std::string& file() const { return file_; }

 private:
  static std::string range(std::int64_t lo, std::int64_t hi) {
    return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }

  const json& obj_;
  std::string file_;
  std::string prefix_;
};

DType parse_torch_dtype(const Fields& f) {
  // "dtype" is the newer spelling; "torch_dtype" the one most checkpoints still carry.
  const char* key = f.has("dtype") ? "dtype" : "torch_dtype";
  std::string s = f.string(key, "float32");
  if (s.rfind("torch.", 0) == 0) s = s.substr(6);
  if (s == "float32" || s == "float") return DType::kF32;
  if (s == "float16" || s == "half") return DType::kF16;
  if (s == "bfloat16") return DType::kBF16;
  f.fail(key, "is '" + s + "', expected float32, float16 or bfloat16");
}

RopeScaling parse_rope_type(const std::string& s) {
  if (s.empty() || s == "default") return RopeScaling::kNone;
  if (s == "linear") return RopeScaling::kLinear;
  if (s == "dynamic") return RopeScaling::kDynamic;
  if (s == "yarn") return RopeScaling::kYarn;
  return RopeScaling::kOther;
}

// rope_parameters {"rope_type", "rope_theta", "factor"} (transformers ≥ 4.56), or the older
// rope_theta + rope_scaling {"type"|"rope_type", "factor"}.
void read_rope(const Fields& f, ModelConfig& c) {
  if (const json* rp = f.get("rope_parameters")) {
    if (!rp->is_object()) f.fail("rope_parameters", "is " + rp->dump() + ", expected an object");
    const json* params = rp;
    std::string prefix = "rope_parameters.";
    // per-layer-type form: {"full_attention": {...}, "sliding_attention": {...}}
    if (!rp->contains("rope_theta") && rp->contains("full_attention")) {
      params = &(*rp)["full_attention"];
      prefix += "full_attention.";
      if (!params->is_object()) f.fail("rope_parameters.full_attention", "is not an object");
    }
    const Fields p(*params, f.file(), prefix);
    c.rope_theta = p.number("rope_theta", f.number("rope_theta", c.rope_theta));
    c.rope_scaling = parse_rope_type(p.string("rope_type", p.string("type", "default")));
    c.rope_scaling_factor = p.number("factor", 1.0);
    return;
  }
  c.rope_theta = f.number("rope_theta", c.rope_theta);
  if (const json* rs = f.get("rope_scaling")) {
    if (!rs->is_object()) f.fail("rope_scaling", "is " + rs->dump() + ", expected an object");
    const Fields s(*rs, f.file(), "rope_scaling.");
    c.rope_scaling = parse_rope_type(s.string("rope_type", s.string("type", "default")));
    c.rope_scaling_factor = s.number("factor", 1.0);
  }
}

std::vector<std::int64_t> int_list(const Fields& f, std::string_view key, std::int64_t lo,
                                   std::int64_t hi) {
  std::vector<std::int64_t> out;
  const json* v = f.get(key);
  if (v == nullptr) return out;
  if (v->is_number_integer()) return {f.integer(key, 0, lo, hi)};  // a single id
  if (!v->is_array()) f.fail(key, "is " + v->dump() + ", expected a list of integers");
  for (std::size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (!e.is_number_integer() ||
        (e.is_number_unsigned() && e.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) ||
        e.get<std::int64_t>() < lo || e.get<std::int64_t>() > hi) {
      f.fail(std::string(key) + "[" + std::to_string(i) + "]",
             "is " + e.dump() + ", expected an integer in [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
    }
    out.push_back(e.get<std::int64_t>());
  }
  return out;
}

void read_attention(const Fields& f, ModelConfig& c, std::int64_t default_window,
                    std::int64_t max_window_layers) {
  const bool use_sliding = f.boolean("use_sliding_window", false);
  // null means no window (transformers' nullable sliding_window)
  const std::int64_t window = f.is_null("sliding_window")
                                  ? 0
                                  : f.integer("sliding_window", default_window, 0, kMaxWidth * 64);
  c.sliding_window = use_sliding ? window : 0;
  c.attention.assign(c.num_layers, AttentionKind::kFull);
  if (const json* lt = f.get("layer_types")) {
    if (!lt->is_array() || static_cast<std::int64_t>(lt->size()) != c.num_layers) {
      f.fail("layer_types",
             "must be a list of " + std::to_string(c.num_layers) + " entries (one per layer)");
    }
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
      const json& e = (*lt)[i];
      if (e == "full_attention") continue;
      if (e == "sliding_attention") {
        c.attention[i] = AttentionKind::kSliding;
        c.sliding_window = window;  // a listed sliding layer uses the window
        continue;
      }
      f.fail("layer_types[" + std::to_string(i) + "]",
             "is " + e.dump() + ", expected \"full_attention\" or \"sliding_attention\"");
    }
    return;
  }
  // transformers' rule when layer_types is absent
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    if (use_sliding && (i + 1) % 2 != 0 && i < max_window_layers) {
      c.attention[i] = AttentionKind::kSliding;
    }
  }
}

void read_common(const Fields& f, ModelConfig& c) {
  const std::string act = f.string("hidden_act", "silu");
  if (act != "silu" && act != "swish")
    f.fail("hidden_act", "is '" + act + "', only silu is supported");
  c.dtype = parse_torch_dtype(f);
  c.head_dim = f.integer("head_dim", 0, 1, kMaxWidth);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_heads != 0) {
      f.fail("hidden_size", std::to_string(c.hidden_size) + " is not a multiple of " +
                                "num_attention_heads " + std::to_string(c.num_heads));
    }
    c.head_dim = c.hidden_size / c.num_heads;
  }
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_heads, 1, kMaxHeads);
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  const auto bos = int_list(f, "bos_token_id", 0, kMaxVocab * 4);
  if (!bos.empty()) c.bos_token_id = bos.front();
  c.eos_token_ids = int_list(f, "eos_token_id", 0, kMaxVocab * 4);
}

ModelConfig read_qwen2_moe(const Fields& f, const json& root) {
  ModelConfig c;
  c.arch = Arch::kQwen2Moe;
  c.vocab_size = f.integer("vocab_size", 151936, 1, kMaxVocab);
  c.hidden_size = f.integer("hidden_size", 2048, 1, kMaxWidth);
  c.intermediate_size = f.integer("intermediate_size", 5632, 1, kMaxWidth);
  c.num_layers = f.integer("num_hidden_layers", 24, 1, kMaxLayers);
  c.num_heads = f.integer("num_attention_heads", 16, 1, kMaxHeads);
  c.max_position_embeddings = f.integer("max_position_embeddings", 32768, 1, INT64_MAX);
  c.rope_theta = 10000.0;
  read_common(f, c);
  // absent: Qwen2MoeConfig's 16; null: one key/value head per attention head
  if (!root.contains("num_key_value_heads")) c.num_kv_heads = 16;
  read_rope(f, c);
  c.attention_bias = f.boolean("qkv_bias", true);
  c.num_experts = f.integer("num_experts", 60, 0, kMaxExperts);
  c.experts_per_token = f.integer("num_experts_per_tok", 4, 1, kMaxExperts);
  c.moe_intermediate_size = f.integer("moe_intermediate_size", 1408, 1, kMaxWidth);
  c.shared_intermediate_size = f.integer("shared_expert_intermediate_size", 5632, 0, kMaxWidth);
  c.num_shared_experts = c.shared_intermediate_size > 0 ? 1 : 0;
  c.shared_expert_gated = c.shared_intermediate_size > 0;
  c.norm_topk_prob = f.boolean("norm_topk_prob", false);

  const std::int64_t step = f.integer("decoder_sparse_step", 1, 1, kMaxLayers);
  const auto dense_list = int_list(f, "mlp_only_layers", 0, c.num_layers - 1);
  const std::set<std::int64_t> dense(dense_list.begin(), dense_list.end());
  c.ffn.assign(c.num_layers, FfnKind::kDense);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    if (!dense.contains(i) && c.num_experts > 0 && (i + 1) % step == 0) c.ffn[i] = FfnKind::kMoe;
  }
  read_attention(f, c, 4096, f.integer("max_window_layers", 28, 0, kMaxLayers));
  return c;
}

ModelConfig read_deepseek(const Fields& f) {
  ModelConfig c;
  c.arch = Arch::kDeepseek;
  c.vocab_size = f.integer("vocab_size", 102400, 1, kMaxVocab);
  c.hidden_size = f.integer("hidden_size", 4096, 1, kMaxWidth);
  c.intermediate_size = f.integer("intermediate_size", 11008, 1, kMaxWidth);
  c.num_layers = f.integer("num_hidden_layers", 30, 1, kMaxLayers);
  c.num_heads = f.integer("num_attention_heads", 32, 1, kMaxHeads);
  c.max_position_embeddings = f.integer("max_position_embeddings", 2048, 1, INT64_MAX);
  c.rope_theta = 10000.0;
  read_common(f, c);
  read_rope(f, c);
  c.attention_bias = f.boolean("attention_bias", false);
  const std::string scoring = f.string("scoring_func", "softmax");
  if (scoring != "softmax")
    f.fail("scoring_func", "is '" + scoring + "', only softmax is supported");

  // n_routed_experts null means a dense model (every layer an MLP)
  c.num_experts = f.integer("n_routed_experts", 0, 1, kMaxExperts);
  c.moe_intermediate_size = f.integer("moe_intermediate_size", 1407, 1, kMaxWidth);
  c.norm_topk_prob = f.boolean("norm_topk_prob", false);
  c.routed_scaling_factor = f.number("routed_scaling_factor", 1.0);
  if (c.num_experts > 0) {
    c.experts_per_token = f.required_integer("num_experts_per_tok", 1, c.num_experts);
  }
  c.num_shared_experts = f.integer("n_shared_experts", 0, 0, kMaxExperts);
  c.shared_intermediate_size = c.num_shared_experts * c.moe_intermediate_size;
  c.shared_expert_gated = false;
  if (c.shared_intermediate_size > kMaxWidth) {
    f.fail("n_shared_experts", "× moe_intermediate_size exceeds " + std::to_string(kMaxWidth));
  }

  const std::int64_t first_dense = f.integer("first_k_dense_replace", 0, 0, kMaxLayers);
  const std::int64_t freq = f.integer("moe_layer_freq", 1, 1, kMaxLayers);
  c.ffn.assign(c.num_layers, FfnKind::kDense);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    if (c.num_experts > 0 && i >= first_dense && i % freq == 0) c.ffn[i] = FfnKind::kMoe;
  }
  read_attention(f, c, 0, 0);
  return c;
}

}  // namespace

ModelConfig parse_hf_config(std::string_view json_text, std::string_view file_name) {
  const std::string file(file_name);
  const json root = parse_untrusted_json(json_text, file_name);
  if (!root.is_object()) throw LoadError(file + ": not a JSON object");
  const Fields f(root, file);
  const json* mt = f.get("model_type");
  if (mt == nullptr) throw LoadError(file + ": no 'model_type' (" + std::string(kSupported) + ")");
  if (!mt->is_string()) f.fail("model_type", "is " + mt->dump() + ", expected a string");
  const auto& type = mt->get_ref<const std::string&>();
  ModelConfig c;
  if (type == "qwen2_moe") {
    c = read_qwen2_moe(f, root);
  } else if (type == "deepseek") {
    c = read_deepseek(f);
  } else {
    throw LoadError(file + ": model_type '" + type + "' is not supported (" +
                    std::string(kSupported) + ")");
  }
  check_model_config(c, file_name);
  return c;
}

ModelConfig load_hf_config(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file = std::filesystem::is_directory(path, ec) ? path / "config.json" : path;
  const MappedFile m = MappedFile::open(file);
  const std::string_view text(reinterpret_cast<const char*>(m.bytes().data()), m.bytes().size());
  return parse_hf_config(text, file.string());
}

}  // namespace vkmoe
