#include "loaders/gguf_model.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <limits>

#include "loaders/load_error.h"
#include "loaders/model_files.h"
#include "loaders/param_count.h"
#include "tests/loaders/checkpoint_writers.h"
#include "tests/loaders/gguf_writer.h"

namespace vkmoe {
namespace {

using test::GgufWriter;
using V = std::vector<std::int64_t>;

// an F32 tensor, `ne` in GGUF order
void f32(GgufWriter& w, const std::string& name, std::vector<std::uint64_t> ne) {
  std::uint64_t n = 1;
  for (auto d : ne) n *= d;
  w.tensor(name, ne, GgufWriter::T_F32, std::vector<std::byte>(n * 4));
}

void common_meta(GgufWriter& w, const std::string& arch) {
  w.kv_string("general.architecture", arch);
  w.kv_u32(arch + ".block_count", 2);
  w.kv_u32(arch + ".embedding_length", 8);
  w.kv_u32(arch + ".attention.head_count", 2);
  w.kv_u32(arch + ".attention.head_count_kv", 1);
  w.kv_u32(arch + ".context_length", 512);
  w.kv_f32(arch + ".rope.freq_base", 1000000.0f);
  w.kv_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.kv_u32(arch + ".expert_count", 4);
  w.kv_u32(arch + ".expert_used_count", 2);
  w.kv_u32(arch + ".expert_feed_forward_length", 4);
  w.kv_string("tokenizer.ggml.model", "gpt2");
  w.kv_string("tokenizer.ggml.pre", "qwen2");
  std::vector<std::string> toks;
  for (int i = 0; i < 16; ++i) toks.push_back(std::string("t").append(std::to_string(i)));
  w.kv_strings("tokenizer.ggml.tokens", toks);
  w.kv_array<std::int32_t>("tokenizer.ggml.token_type", GgufWriter::I32,
                           std::vector<std::int32_t>(16, 1));
  w.kv_strings("tokenizer.ggml.merges", {"t 1", "t1 2"});
  w.kv_u32("tokenizer.ggml.bos_token_id", 1);
  w.kv_u32("tokenizer.ggml.eos_token_id", 2);
  w.kv_bool("tokenizer.ggml.add_bos_token", false);
}

void attention(GgufWriter& w, int l, bool bias) {
  const std::string p = "blk." + std::to_string(l) + ".";
  f32(w, p + "attn_norm.weight", {8});
  f32(w, p + "attn_q.weight", {8, 8});
  f32(w, p + "attn_k.weight", {8, 4});
  f32(w, p + "attn_v.weight", {8, 4});
  if (bias) {
    f32(w, p + "attn_q.bias", {8});
    f32(w, p + "attn_k.bias", {4});
    f32(w, p + "attn_v.bias", {4});
  }
  f32(w, p + "attn_output.weight", {8, 8});
  f32(w, p + "ffn_norm.weight", {8});
}

void experts(GgufWriter& w, int l, std::uint64_t shared) {
  const std::string p = "blk." + std::to_string(l) + ".";
  f32(w, p + "ffn_gate_inp.weight", {8, 4});
  f32(w, p + "ffn_gate_exps.weight", {8, 4, 4});
  f32(w, p + "ffn_up_exps.weight", {8, 4, 4});
  f32(w, p + "ffn_down_exps.weight", {4, 8, 4});
  f32(w, p + "ffn_gate_shexp.weight", {8, shared});
  f32(w, p + "ffn_up_shexp.weight", {8, shared});
  f32(w, p + "ffn_down_shexp.weight", {shared, 8});
}

std::vector<std::byte> tiny_qwen2moe(bool output = true) {
  GgufWriter w;
  common_meta(w, "qwen2moe");
  w.kv_u32("qwen2moe.feed_forward_length", 12);
  w.kv_u32("qwen2moe.expert_shared_feed_forward_length", 6);
  f32(w, "token_embd.weight", {8, 16});
  f32(w, "output_norm.weight", {8});
  if (output) f32(w, "output.weight", {8, 16});
  f32(w, "rope_freqs.weight", {4});  // a tensor we do not use is ignored
  for (int l = 0; l < 2; ++l) {
    attention(w, l, true);
    experts(w, l, 6);
    f32(w, "blk." + std::to_string(l) + ".ffn_gate_inp_shexp.weight", {8});
  }
  return w.build();
}

std::vector<std::byte> tiny_deepseek() {
  GgufWriter w;
  common_meta(w, "deepseek");
  w.kv_u32("deepseek.feed_forward_length", 12);
  w.kv_u32("deepseek.leading_dense_block_count", 1);
  w.kv_u32("deepseek.expert_shared_count", 2);
  w.kv_u32("deepseek.rope.dimension_count", 4);
  f32(w, "token_embd.weight", {8, 16});
  f32(w, "output_norm.weight", {8});
  f32(w, "output.weight", {8, 16});
  attention(w, 0, false);
  f32(w, "blk.0.ffn_gate.weight", {8, 12});
  f32(w, "blk.0.ffn_up.weight", {8, 12});
  f32(w, "blk.0.ffn_down.weight", {12, 8});
  attention(w, 1, false);
  experts(w, 1, 8);
  return w.build();
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    FAIL() << "no error; expected: " << needle;
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

TEST(GgufModel, Qwen2MoeMapsToTheHfDescription) {
  const auto bytes = tiny_qwen2moe();
  const GgufFile f = GgufFile::parse(bytes, "q.gguf");
  const ResolvedModel m = resolve_gguf_model(f);
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.arch, Arch::kQwen2Moe);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.hidden_size, 8);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_EQ(c.num_kv_heads, 1);
  EXPECT_EQ(c.vocab_size, 16);
  EXPECT_EQ(c.num_experts, 4);
  EXPECT_EQ(c.experts_per_token, 2);
  EXPECT_EQ(c.shared_intermediate_size, 6);
  EXPECT_TRUE(c.shared_expert_gated);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_NEAR(c.rms_norm_eps, 1e-5, 1e-12);
  EXPECT_EQ(c.num_moe_layers(), 2);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(m.layout[0], ExpertLayout::kStacked);
  // shapes come back in PyTorch order
  EXPECT_EQ(m.find(TensorRole::kExpertsDown, 1)->view->shape, (V{4, 8, 4}));
  EXPECT_EQ(m.find(TensorRole::kExpertsGate, 1)->view->name, "blk.1.ffn_gate_exps.weight");
  EXPECT_EQ(m.find(TensorRole::kTokenEmbedding)->view->shape, (V{16, 8}));
  EXPECT_EQ(m.find(TensorRole::kSharedExpertGate, 0)->view->shape, (V{8}));  // [1, 8] in HF
  EXPECT_EQ(m.find(TensorRole::kQ, 0)->rows, RowOrder::kAsIs);  // NeoX RoPE: stored as in HF
  // same parameter count as the HF description of the same config
  std::uint64_t n = 0;
  for (const auto& t : m.tensors) n += static_cast<std::uint64_t>(t.view->numel());
  EXPECT_EQ(n, count_params(c).total);
}

TEST(GgufModel, TiedWhenThereIsNoOutputTensor) {
  const auto bytes = tiny_qwen2moe(/*output=*/false);
  const GgufFile f = GgufFile::parse(bytes, "q.gguf");
  EXPECT_TRUE(gguf_model_config(f).tie_word_embeddings);
  EXPECT_EQ(resolve_gguf_model(f).find(TensorRole::kLmHead), nullptr);
}

TEST(GgufModel, DeepseekDenseLeadingLayerAndPermutedQk) {
  const auto bytes = tiny_deepseek();
  const GgufFile f = GgufFile::parse(bytes, "d.gguf");
  const ResolvedModel m = resolve_gguf_model(f);
  EXPECT_EQ(m.config.arch, Arch::kDeepseek);
  EXPECT_FALSE(m.config.is_moe(0));
  EXPECT_TRUE(m.config.is_moe(1));
  EXPECT_EQ(m.config.shared_intermediate_size, 8);
  EXPECT_FALSE(m.config.shared_expert_gated);
  EXPECT_FALSE(m.config.attention_bias);
  EXPECT_EQ(m.find(TensorRole::kDenseGate, 0)->view->name, "blk.0.ffn_gate.weight");
  EXPECT_EQ(m.find(TensorRole::kSharedDown, 1)->view->name, "blk.1.ffn_down_shexp.weight");
  for (TensorRole r : {TensorRole::kQ, TensorRole::kK}) {
    EXPECT_EQ(m.find(r, 1)->rows, RowOrder::kRopeInterleaved);
    EXPECT_EQ(m.find(r, 1)->rope_head_dim, 4);
  }
  EXPECT_EQ(m.find(TensorRole::kV, 1)->rows, RowOrder::kAsIs);
}

TEST(GgufModel, NameMapping) {
  EXPECT_EQ(gguf_to_hf_name("blk.12.ffn_down_exps.weight", Arch::kQwen2Moe),
            "model.layers.12.mlp.experts.down_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.3.ffn_up_shexp.weight", Arch::kQwen2Moe),
            "model.layers.3.mlp.shared_expert.up_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.3.ffn_up_shexp.weight", Arch::kDeepseek),
            "model.layers.3.mlp.shared_experts.up_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("output.weight", Arch::kDeepseek), "lm_head.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.x.attn_q.weight", Arch::kDeepseek), "");
  EXPECT_EQ(gguf_to_hf_name("blk..attn_q.weight", Arch::kDeepseek), "");
  EXPECT_EQ(gguf_to_hf_name("rope_freqs.weight", Arch::kDeepseek), "");
}

TEST(GgufModel, Tokenizer) {
  const auto bytes = tiny_qwen2moe();
  const GgufFile f = GgufFile::parse(bytes, "q.gguf");
  const GgufTokenizer t = gguf_tokenizer(f);
  EXPECT_EQ(t.model, "gpt2");
  EXPECT_EQ(t.pre, "qwen2");
  ASSERT_EQ(t.tokens.size(), 16u);
  EXPECT_EQ(t.tokens[15], "t15");
  EXPECT_TRUE(t.scores.empty());
  EXPECT_EQ(t.token_types.size(), 16u);
  EXPECT_EQ(t.merges, (std::vector<std::string>{"t 1", "t1 2"}));
  EXPECT_EQ(t.bos_id, 1);
  EXPECT_EQ(t.eos_id, 2);
  EXPECT_FALSE(t.unknown_id.has_value());
  EXPECT_EQ(t.add_bos, false);
}

TEST(GgufModelErrors, Architecture) {
  GgufWriter w;
  w.kv_string("general.architecture", "llama");
  const auto b = w.build();
  expect_error(
      [&] { gguf_model_config(GgufFile::parse(b, "l.gguf")); },
      "l.gguf: general.architecture 'llama' is not supported (supported: qwen2moe, deepseek)");
  const auto none = GgufWriter().build();
  expect_error([&] { gguf_model_config(GgufFile::parse(none, "n.gguf")); },
               "n.gguf: metadata key 'general.architecture' is missing");
  GgufWriter num;
  num.kv_u32("general.architecture", 3);
  const auto nb = num.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(nb, "n.gguf")); },
               "n.gguf: metadata key 'general.architecture' is uint32, expected a string");
}

TEST(GgufModelErrors, Keys) {
  GgufWriter w;
  w.kv_string("general.architecture", "qwen2moe");
  w.kv_u32("qwen2moe.block_count", 2);
  const auto b = w.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(b, "q.gguf")); },
               "q.gguf: metadata key 'qwen2moe.embedding_length' is missing");
  GgufWriter s;
  s.kv_string("general.architecture", "qwen2moe");
  s.kv_string("qwen2moe.block_count", "two");
  const auto sb = s.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(sb, "q.gguf")); },
               "metadata key 'qwen2moe.block_count' is string, expected an integer");
  GgufWriter r;
  r.kv_string("general.architecture", "qwen2moe");
  r.kv_u32("qwen2moe.block_count", 100000);
  const auto rb = r.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(rb, "q.gguf")); },
               "metadata key 'qwen2moe.block_count' is 100000, expected 1..4096");
  GgufWriter e;
  common_meta(e, "qwen2moe");
  e.kv_string("qwen2moe.expert_weights_scale", "x");
  const auto eb = e.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(eb, "q.gguf")); },
               "metadata key 'qwen2moe.expert_weights_scale' is string, expected a number");
  GgufWriter nb;
  common_meta(nb, "qwen2moe");
  nb.kv_u32("qwen2moe.expert_weights_norm", 1);
  const auto nbb = nb.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(nbb, "q.gguf")); },
               "metadata key 'qwen2moe.expert_weights_norm' is uint32, expected a bool");
}

TEST(GgufModelErrors, MissingTensorNamesTheHfName) {
  GgufWriter w;
  common_meta(w, "qwen2moe");
  w.kv_u32("qwen2moe.expert_shared_feed_forward_length", 6);
  f32(w, "token_embd.weight", {8, 16});
  const auto b = w.build();
  expect_error([&] { resolve_gguf_model(GgufFile::parse(b, "q.gguf")); },
               "q.gguf: missing tensor 'model.layers.0.input_layernorm.weight' (attention norm of "
               "layer 0, qwen2_moe)");
}

TEST(GgufModelErrors, TokenizerArrays) {
  GgufWriter w;
  w.kv_strings("tokenizer.ggml.tokens", {"a", "b"});
  w.kv_array<float>("tokenizer.ggml.scores", GgufWriter::F32, {0.0f});
  const auto b = w.build();
  expect_error([&] { gguf_tokenizer(GgufFile::parse(b, "t.gguf")); },
               "t.gguf: metadata key 'tokenizer.ggml.scores' has 1 entries for 2 tokens");
  GgufWriter tt;
  tt.kv_strings("tokenizer.ggml.tokens", {"a", "b"});
  tt.kv_array<std::int32_t>("tokenizer.ggml.token_type", GgufWriter::I32, {1, 1, 1});
  const auto tb = tt.build();
  expect_error([&] { gguf_tokenizer(GgufFile::parse(tb, "t.gguf")); },
               "metadata key 'tokenizer.ggml.token_type' has 3 entries for 2 tokens");
  GgufWriter id;
  id.kv_strings("tokenizer.ggml.tokens", {"a", "b"});
  id.kv_u32("tokenizer.ggml.eos_token_id", 5);
  const auto ib = id.build();
  expect_error([&] { gguf_tokenizer(GgufFile::parse(ib, "t.gguf")); },
               "metadata key 'tokenizer.ggml.eos_token_id' is 5, expected 0..1");
  const auto none = GgufWriter().build();
  expect_error([&] { gguf_tokenizer(GgufFile::parse(none, "t.gguf")); },
               "t.gguf: no metadata key 'tokenizer.ggml.tokens'");
}

TEST(GgufModel, OpensAsAModelFile) {
  test::TempDir dir;
  const auto path = dir.write("tiny.gguf", tiny_deepseek());
  const ModelFiles m = open_model_files(path);
  EXPECT_EQ(m.format, ModelFormat::kGguf);
  ASSERT_TRUE(m.weights_present());
  EXPECT_EQ(m.config.arch, Arch::kDeepseek);
  EXPECT_EQ(m.file_bytes(), std::filesystem::file_size(path));
  EXPECT_EQ(m.tensors->weight_bytes(), 4 * count_params(m.config).total);
}

TEST(GgufModelErrors, ValuesTheConfigRejects) {
  GgufWriter nan;
  common_meta(nan, "deepseek");
  nan.kv_f32("deepseek.expert_weights_scale", 1.0f);
  auto b = nan.build();
  // common_meta wrote rope.freq_base = 1e6 as f32; overwrite it with a NaN in place
  const float one_e6 = 1000000.0f, qnan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 0; i + 4 <= b.size(); ++i) {
    if (std::memcmp(b.data() + i, &one_e6, 4) == 0) std::memcpy(b.data() + i, &qnan, 4);
  }
  expect_error([&] { gguf_model_config(GgufFile::parse(b, "d.gguf")); },
               "d.gguf: rope theta nan is not a positive number");
  GgufWriter dense;
  common_meta(dense, "deepseek");
  dense.kv_u32("deepseek.leading_dense_block_count", 1);
  const auto db = dense.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(db, "d.gguf")); },
               "d.gguf: metadata key 'deepseek.feed_forward_length' is missing");
  GgufWriter wide;
  common_meta(wide, "qwen2moe");
  wide.kv_u32("qwen2moe.attention.key_length", 1 << 20);
  const auto wb = wide.build();
  expect_error([&] { gguf_model_config(GgufFile::parse(wb, "q.gguf")); },
               "q.gguf: 2 heads × head dim 1048576 exceeds 1048576");
}

}  // namespace
}  // namespace vkmoe
