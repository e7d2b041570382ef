#include "loaders/hf_config.h"

#include <gtest/gtest.h>

#include "loaders/load_error.h"
#include "loaders/param_count.h"

namespace vkmoe {
namespace {

const std::string kAssets = std::string(VKMOE_SOURCE_DIR) + "/assets/configs/";

void expect_error(const std::string& json, const std::string& needle) {
  try {
    parse_hf_config(json, "config.json");
    FAIL() << "no error; expected: " << needle;
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
    EXPECT_EQ(std::string(e.what()).rfind("config.json: ", 0), 0u) << e.what();
  }
}

std::string qwen(const std::string& extra) {
  return R"({"model_type":"qwen2_moe")" + (extra.empty() ? "" : "," + extra) + "}";
}
std::string deepseek(const std::string& extra) {
  return R"({"model_type":"deepseek","n_routed_experts":8,"num_experts_per_tok":2)" +
         (extra.empty() ? "" : "," + extra) + "}";
}

TEST(HfConfig, Qwen15MoeA27B) {
  const ModelConfig c = load_hf_config(kAssets + "Qwen1.5-MoE-A2.7B");
  EXPECT_EQ(c.arch, Arch::kQwen2Moe);
  EXPECT_EQ(c.dtype, DType::kBF16);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_EQ(c.num_heads, 16);
  EXPECT_EQ(c.num_kv_heads, 16);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.num_experts, 60);
  EXPECT_EQ(c.experts_per_token, 4);
  EXPECT_EQ(c.moe_intermediate_size, 1408);
  EXPECT_EQ(c.shared_intermediate_size, 5632);
  EXPECT_TRUE(c.shared_expert_gated);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.num_moe_layers(), 24);
  EXPECT_EQ(c.sliding_window, 0);  // use_sliding_window is false
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{151643});

  const ParamCount p = count_params(c);
  EXPECT_NEAR(static_cast<double>(p.total), 14.3e9, 0.01 * 14.3e9);
  EXPECT_NEAR(static_cast<double>(p.active), 2.7e9, 0.01 * 2.7e9);
}

TEST(HfConfig, DeepseekMoe16B) {
  const ModelConfig c = load_hf_config(kAssets + "deepseek-moe-16b-base/config.json");
  EXPECT_EQ(c.arch, Arch::kDeepseek);
  EXPECT_EQ(c.num_layers, 28);
  EXPECT_EQ(c.num_experts, 64);
  EXPECT_EQ(c.experts_per_token, 6);
  EXPECT_EQ(c.num_shared_experts, 2);
  EXPECT_EQ(c.shared_intermediate_size, 2 * 1408);
  EXPECT_FALSE(c.shared_expert_gated);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.is_moe(0));  // first_k_dense_replace = 1
  EXPECT_TRUE(c.is_moe(1));
  EXPECT_EQ(c.num_moe_layers(), 27);
  EXPECT_EQ(c.intermediate_size, 10944);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);

  // The model card's 16.4B / 2.8B are rounded to one decimal; the exact counts are 16.38B and
  // 2.83B (1.02% above 2.8B), so check the rounding and the exact value by formula.
  const ParamCount p = count_params(c);
  EXPECT_NEAR(static_cast<double>(p.total), 16.4e9, 0.01 * 16.4e9);
  EXPECT_NEAR(static_cast<double>(p.active), 2.8e9, 0.05e9);
  const std::uint64_t h = 2048, attn = 4 * h * h + 2 * h, emb = 2 * 102400 * h;
  const std::uint64_t expert = 3 * h * 1408, dense = 3 * h * 10944 + attn;
  const std::uint64_t moe_fixed = attn + 64 * h + 2 * expert;  // router + 2 shared experts
  EXPECT_EQ(p.total, emb + h + dense + 27 * (moe_fixed + 64 * expert));
  EXPECT_EQ(p.active, emb + h + dense + 27 * (moe_fixed + 6 * expert));
}

TEST(HfConfig, ParamCountByHand) {
  // 1 layer, hidden 8, 2 heads (kv 1, head_dim 4), 4 experts of width 4, top-2, shared 6, vocab 16
  const ModelConfig c = parse_hf_config(
      qwen(R"("hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,)"
           R"("num_key_value_heads":1,"num_experts":4,"num_experts_per_tok":2,)"
           R"("moe_intermediate_size":4,"shared_expert_intermediate_size":6,"vocab_size":16)"),
      "config.json");
  const std::uint64_t emb = 2 * 16 * 8;
  const std::uint64_t attn = 8 * 8 + 2 * (4 * 8) + 8 * 8 + (8 + 4 + 4) + 2 * 8;  // + biases, norms
  const std::uint64_t router = 4 * 8;
  const std::uint64_t expert = 3 * 4 * 8;
  const std::uint64_t shared = 3 * 6 * 8 + 8;
  const ParamCount p = count_params(c);
  EXPECT_EQ(p.total, emb + attn + router + 4 * expert + shared + 8);
  EXPECT_EQ(p.active, emb + attn + router + 2 * expert + shared + 8);
  EXPECT_EQ(p.embedding, emb);
  EXPECT_EQ(p.routed_experts, 4 * expert);
}

TEST(HfConfig, QwenDefaultsAreTransformers) {
  const ModelConfig c = parse_hf_config(qwen(""), "config.json");
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.intermediate_size, 5632);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_EQ(c.num_heads, 16);
  EXPECT_EQ(c.num_kv_heads, 16);
  EXPECT_EQ(c.num_experts, 60);
  EXPECT_EQ(c.experts_per_token, 4);
  EXPECT_EQ(c.moe_intermediate_size, 1408);
  EXPECT_EQ(c.shared_intermediate_size, 5632);
  EXPECT_EQ(c.max_position_embeddings, 32768);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.dtype, DType::kF32);
  EXPECT_EQ(c.num_moe_layers(), 24);
}

TEST(HfConfig, DeepseekDefaults) {
  const ModelConfig c = parse_hf_config(R"({"model_type":"deepseek"})", "config.json");
  EXPECT_EQ(c.vocab_size, 102400);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 32);
  EXPECT_EQ(c.num_moe_layers(), 0);  // n_routed_experts null: dense
  EXPECT_FALSE(c.attention_bias);
  const ModelConfig n =
      parse_hf_config(R"({"model_type":"deepseek","num_key_value_heads":null,"n_routed_experts":4,)"
                      R"("num_experts_per_tok":2})",
                      "config.json");
  EXPECT_EQ(n.num_kv_heads, 32);
  EXPECT_EQ(n.moe_intermediate_size, 1407);
  EXPECT_EQ(n.num_moe_layers(), 30);  // first_k_dense_replace 0, moe_layer_freq 1
  EXPECT_EQ(n.shared_intermediate_size, 0);
}

TEST(HfConfig, BothSpellings) {
  EXPECT_DOUBLE_EQ(parse_hf_config(qwen(R"("rope_theta":500000)"), "config.json").rope_theta, 5e5);
  const ModelConfig rp = parse_hf_config(
      qwen(R"("rope_parameters":{"rope_type":"linear","rope_theta":250000.0,"factor":2.0})"),
      "config.json");
  EXPECT_DOUBLE_EQ(rp.rope_theta, 2.5e5);
  EXPECT_EQ(rp.rope_scaling, RopeScaling::kLinear);
  EXPECT_DOUBLE_EQ(rp.rope_scaling_factor, 2.0);
  const ModelConfig per_type = parse_hf_config(
      qwen(R"("rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":7.0}})"),
      "config.json");
  EXPECT_DOUBLE_EQ(per_type.rope_theta, 7.0);
  const ModelConfig old_scaling =
      parse_hf_config(deepseek(R"("rope_scaling":{"type":"dynamic","factor":4})"), "config.json");
  EXPECT_EQ(old_scaling.rope_scaling, RopeScaling::kDynamic);
  EXPECT_DOUBLE_EQ(old_scaling.rope_scaling_factor, 4.0);

  EXPECT_EQ(parse_hf_config(qwen(R"("torch_dtype":"float16")"), "config.json").dtype, DType::kF16);
  EXPECT_EQ(parse_hf_config(qwen(R"("dtype":"bfloat16")"), "config.json").dtype, DType::kBF16);
  EXPECT_EQ(
      parse_hf_config(qwen(R"("dtype":"torch.float32","torch_dtype":"bfloat16")"), "config.json")
          .dtype,
      DType::kF32);
  EXPECT_EQ(parse_hf_config(qwen(R"("eos_token_id":[1,2],"bos_token_id":null)"), "config.json")
                .eos_token_ids,
            (std::vector<std::int64_t>{1, 2}));
}

TEST(HfConfig, SlidingWindowAndLayerTypes) {
  const ModelConfig none =
      parse_hf_config(qwen(R"("sliding_window":null,"use_sliding_window":false)"), "config.json");
  EXPECT_EQ(none.sliding_window, 0);
  for (AttentionKind k : none.attention) EXPECT_EQ(k, AttentionKind::kFull);

  // transformers' rule: sliding on even-indexed layers below max_window_layers
  const ModelConfig rule = parse_hf_config(
      qwen(R"("num_hidden_layers":4,"use_sliding_window":true,"sliding_window":128,)"
           R"("max_window_layers":2)"),
      "config.json");
  EXPECT_EQ(rule.sliding_window, 128);
  EXPECT_EQ(rule.attention,
            (std::vector<AttentionKind>{AttentionKind::kSliding, AttentionKind::kFull,
                                        AttentionKind::kFull, AttentionKind::kFull}));

  const ModelConfig listed = parse_hf_config(
      qwen(R"("num_hidden_layers":3,"sliding_window":64,)"
           R"("layer_types":["full_attention","sliding_attention","full_attention"])"),
      "config.json");
  EXPECT_EQ(listed.attention[1], AttentionKind::kSliding);
  EXPECT_EQ(listed.sliding_window, 64);
}

TEST(HfConfig, WhichLayersAreSparse) {
  const ModelConfig step = parse_hf_config(
      qwen(R"("num_hidden_layers":6,"decoder_sparse_step":2,"mlp_only_layers":[3])"),
      "config.json");
  EXPECT_EQ(step.ffn, (std::vector<FfnKind>{FfnKind::kDense, FfnKind::kMoe, FfnKind::kDense,
                                            FfnKind::kDense, FfnKind::kDense, FfnKind::kMoe}));
  const ModelConfig ds = parse_hf_config(
      deepseek(R"("num_hidden_layers":6,"first_k_dense_replace":2,"moe_layer_freq":2)"),
      "config.json");
  EXPECT_EQ(ds.ffn, (std::vector<FfnKind>{FfnKind::kDense, FfnKind::kDense, FfnKind::kMoe,
                                          FfnKind::kDense, FfnKind::kMoe, FfnKind::kDense}));
}

TEST(HfConfigErrors, ModelType) {
  expect_error(R"({"hidden_size":8})",
               "config.json: no 'model_type' (supported: qwen2_moe, deepseek)");
  expect_error(R"({"model_type":"llama"})",
               "config.json: model_type 'llama' is not supported (supported: qwen2_moe, deepseek)");
  expect_error(R"({"model_type":7})", "field 'model_type' is 7, expected a string");
  expect_error("[]", "config.json: not a JSON object");
  expect_error("{", "config.json: offset 2: invalid JSON");
  expect_error(std::string(70, '{'), "JSON nesting deeper than 64 levels");
}

TEST(HfConfigErrors, FieldTypesAndRanges) {
  expect_error(qwen(R"("hidden_size":-3)"),
               "field 'hidden_size' is -3, expected an integer in [1, 1048576]");
  expect_error(qwen(R"("hidden_size":18446744073709551615)"),
               "field 'hidden_size' is 18446744073709551615, expected an integer in [1, 1048576]");
  expect_error(qwen(R"("num_hidden_layers":2.5)"),
               "field 'num_hidden_layers' is 2.5, expected an integer");
  expect_error(qwen(R"("rms_norm_eps":"small")"),
               "field 'rms_norm_eps' is \"small\", expected a number");
  expect_error(qwen(R"("tie_word_embeddings":1)"),
               "field 'tie_word_embeddings' is 1, expected true or false");
  expect_error(qwen(R"("hidden_act":"gelu")"),
               "field 'hidden_act' is 'gelu', only silu is supported");
  expect_error(qwen(R"("torch_dtype":"int8")"),
               "field 'torch_dtype' is 'int8', expected float32, float16 or bfloat16");
  expect_error(qwen(R"("hidden_act":3)"), "field 'hidden_act' is 3, expected a string");
  expect_error(qwen(R"("mlp_only_layers":[0,99])"),
               "field 'mlp_only_layers[1]' is 99, expected an integer in [0, 23]");
  expect_error(qwen(R"("mlp_only_layers":{"a":1})"),
               "field 'mlp_only_layers' is {\"a\":1}, expected a list of integers");
  expect_error(qwen(R"("decoder_sparse_step":0)"), "field 'decoder_sparse_step' is 0");
  expect_error(deepseek(R"("moe_layer_freq":0)"), "field 'moe_layer_freq' is 0");
  expect_error(deepseek(R"("scoring_func":"sigmoid")"),
               "field 'scoring_func' is 'sigmoid', only softmax is supported");
  expect_error(R"({"model_type":"deepseek","n_routed_experts":8})",
               "field 'num_experts_per_tok' is missing");
  expect_error(deepseek(R"("num_experts_per_tok":9)"),
               "field 'num_experts_per_tok' is 9, expected an integer in [1, 8]");
  expect_error(deepseek(R"("n_shared_experts":1000,"moe_intermediate_size":100000)"),
               "field 'n_shared_experts' × moe_intermediate_size exceeds 1048576");
}

TEST(HfConfigErrors, RopeAndLayerTypes) {
  expect_error(qwen(R"("rope_parameters":5)"), "field 'rope_parameters' is 5, expected an object");
  expect_error(qwen(R"("rope_parameters":{"full_attention":3})"),
               "field 'rope_parameters.full_attention' is not an object");
  expect_error(qwen(R"("rope_parameters":{"rope_theta":"x"})"),
               "field 'rope_parameters.rope_theta' is \"x\", expected a number");
  expect_error(qwen(R"("rope_scaling":[1])"), "field 'rope_scaling' is [1], expected an object");
  expect_error(qwen(R"("rope_theta":1e999)"), "invalid JSON");
  expect_error(qwen(R"("num_hidden_layers":2,"layer_types":["full_attention"])"),
               "field 'layer_types' must be a list of 2 entries (one per layer)");
  expect_error(qwen(R"("num_hidden_layers":1,"layer_types":["global"])"),
               "field 'layer_types[0]' is \"global\", expected \"full_attention\" or "
               "\"sliding_attention\"");
  expect_error(
      qwen(R"("num_hidden_layers":1,"sliding_window":null,"layer_types":["sliding_attention"])"),
      "sliding-window layers need a positive sliding_window");
}

TEST(HfConfigErrors, Consistency) {
  expect_error(qwen(R"("num_attention_heads":16,"num_key_value_heads":3)"),
               "16 attention heads are not a multiple of 3 key/value heads");
  expect_error(qwen(R"("hidden_size":100,"num_attention_heads":16)"),
               "field 'hidden_size' 100 is not a multiple of num_attention_heads 16");
  expect_error(qwen(R"("head_dim":3)"), "head dim 3 is odd (RoPE needs pairs)");
  expect_error(qwen(R"("num_experts_per_tok":61)"), "experts per token is 61, expected 1..60");
  expect_error(qwen(R"("num_hidden_layers":4096,"num_experts":1000)"),
               "4096 MoE layers × 1000 experts exceeds the limit of 65536 routed experts");
  expect_error(qwen(R"("rms_norm_eps":0)"), "rms_norm_eps 0.000000 is not a positive number");
  expect_error(qwen(R"("rope_theta":-1)"), "rope theta -1.000000 is not a positive number");
}

TEST(HfConfigErrors, MissingFile) {
  try {
    load_hf_config("/nonexistent-model-dir");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-model-dir: cannot open"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vkmoe
