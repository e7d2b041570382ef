#include "loaders/model_description.h"

#include <gtest/gtest.h>

#include <set>

#include "loaders/checkpoint.h"
#include "loaders/hf_config.h"
#include "loaders/load_error.h"
#include "tests/loaders/checkpoint_writers.h"

namespace vkmoe {
namespace {

using test::StTensor;
using V = std::vector<std::int64_t>;

// 2 layers, hidden 8, 2 heads of 4 (1 kv head), 4 experts of width 4, top-2, shared 6, vocab 16
ModelConfig tiny_qwen(const std::string& extra = "") {
  return parse_hf_config(
      R"({"model_type":"qwen2_moe","hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,)"
      R"("num_key_value_heads":1,"num_experts":4,"num_experts_per_tok":2,"intermediate_size":12,)"
      R"("moe_intermediate_size":4,"shared_expert_intermediate_size":6,"vocab_size":16)" +
          extra + "}",
      "config.json");
}

StTensor f32(const std::string& name, V shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return {name, "F32", shape, std::vector<std::byte>(static_cast<std::size_t>(n) * 4)};
}

// Written by hand (not from describe_tensors) so the names are checked independently.
std::vector<StTensor> qwen_layer(int l, bool fused) {
  const std::string p = "model.layers." + std::to_string(l) + ".";
  std::vector<StTensor> t = {
      f32(p + "input_layernorm.weight", {8}),
      f32(p + "self_attn.q_proj.weight", {8, 8}),
      f32(p + "self_attn.q_proj.bias", {8}),
      f32(p + "self_attn.k_proj.weight", {4, 8}),
      f32(p + "self_attn.k_proj.bias", {4}),
      f32(p + "self_attn.v_proj.weight", {4, 8}),
      f32(p + "self_attn.v_proj.bias", {4}),
      f32(p + "self_attn.o_proj.weight", {8, 8}),
      f32(p + "post_attention_layernorm.weight", {8}),
      f32(p + "mlp.gate.weight", {4, 8}),
      f32(p + "mlp.shared_expert.gate_proj.weight", {6, 8}),
      f32(p + "mlp.shared_expert.up_proj.weight", {6, 8}),
      f32(p + "mlp.shared_expert.down_proj.weight", {8, 6}),
      f32(p + "mlp.shared_expert_gate.weight", {1, 8}),
  };
  if (fused) {
    t.push_back(f32(p + "mlp.experts.gate_up_proj", {4, 8, 8}));
    t.push_back(f32(p + "mlp.experts.down_proj", {4, 8, 4}));
  } else {
    for (int e = 0; e < 4; ++e) {
      const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
      t.push_back(f32(x + "gate_proj.weight", {4, 8}));
      t.push_back(f32(x + "up_proj.weight", {4, 8}));
      t.push_back(f32(x + "down_proj.weight", {8, 4}));
    }
  }
  return t;
}

std::vector<StTensor> qwen_tensors(bool fused_layer1, bool lm_head = true) {
  std::vector<StTensor> t = {f32("model.embed_tokens.weight", {16, 8}),
                             f32("model.norm.weight", {8})};
  if (lm_head) t.push_back(f32("lm_head.weight", {16, 8}));
  for (auto& x : qwen_layer(0, false)) t.push_back(std::move(x));
  for (auto& x : qwen_layer(1, fused_layer1)) t.push_back(std::move(x));
  return t;
}

Checkpoint open_checkpoint(const test::TempDir& dir, const std::vector<StTensor>& t) {
  dir.write("model.safetensors", test::st_file(t));
  return Checkpoint::open(dir.path());
}

TensorLookup lookup_in(const Checkpoint& c) {
  return [&c](std::string_view n) { return c.find(n); };
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

TEST(ModelDescription, ListsEveryTensorOnce) {
  const ModelConfig c = tiny_qwen();
  const auto per_expert = describe_tensors(c, ExpertLayout::kPerExpert);
  // embed + norm + lm_head + 2 × (9 attention/norm + router + 12 experts + 4 shared)
  EXPECT_EQ(per_expert.size(), 3u + 2u * (9u + 1u + 12u + 4u));
  std::set<std::string> names;
  for (const auto& t : per_expert) EXPECT_TRUE(names.insert(t.name).second) << t.name;
  EXPECT_EQ(describe_tensors(c, ExpertLayout::kFused).size(), 3u + 2u * (9u + 1u + 2u + 4u));
  EXPECT_EQ(describe_tensors(c, ExpertLayout::kStacked).size(), 3u + 2u * (9u + 1u + 3u + 4u));
}

TEST(ModelDescription, ResolvesPerExpertAndFusedLayouts) {
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, qwen_tensors(/*fused_layer1=*/true));
  const ResolvedModel m = resolve_tensors(tiny_qwen(), lookup_in(ck), "tiny");
  EXPECT_EQ(m.layout[0], ExpertLayout::kPerExpert);
  EXPECT_EQ(m.layout[1], ExpertLayout::kFused);
  ASSERT_NE(m.find(TensorRole::kExpertDown, 0, 3), nullptr);
  EXPECT_EQ(m.find(TensorRole::kExpertDown, 0, 3)->view->name,
            "model.layers.0.mlp.experts.3.down_proj.weight");
  ASSERT_NE(m.find(TensorRole::kExpertsGateUp, 1), nullptr);
  EXPECT_EQ(m.find(TensorRole::kExpertsGateUp, 1)->view->shape, (V{4, 8, 8}));
  ASSERT_NE(m.find(TensorRole::kSharedExpertGate, 1), nullptr);
  EXPECT_EQ(m.find(TensorRole::kRouter, 1)->spec.shape, (V{4, 8}));
  EXPECT_EQ(m.tensors.size(), ck.tensors().size());  // every tensor used, none extra
  std::uint64_t bytes = 0;
  for (const TensorView& t : ck.tensors()) bytes += t.bytes.size();
  EXPECT_EQ(m.weight_bytes(), bytes);
}

TEST(ModelDescription, TiedEmbeddingsNeedNoLmHead) {
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, qwen_tensors(false, /*lm_head=*/false));
  const ResolvedModel m =
      resolve_tensors(tiny_qwen(R"(,"tie_word_embeddings":true)"), lookup_in(ck), "tiny");
  EXPECT_EQ(m.find(TensorRole::kLmHead), nullptr);
  expect_error([&] { resolve_tensors(tiny_qwen(), lookup_in(ck), "tiny"); },
               "tiny: missing tensor 'lm_head.weight' (lm_head, qwen2_moe); the config says "
               "tie_word_embeddings is false");
}

TEST(ModelDescription, DeepseekDenseLeadingLayerAndSharedExperts) {
  const ModelConfig c = parse_hf_config(
      R"({"model_type":"deepseek","hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,)"
      R"("n_routed_experts":4,"num_experts_per_tok":2,"n_shared_experts":2,"intermediate_size":12,)"
      R"("moe_intermediate_size":4,"vocab_size":16,"first_k_dense_replace":1})",
      "config.json");
  std::vector<StTensor> t = {f32("model.embed_tokens.weight", {16, 8}),
                             f32("model.norm.weight", {8}), f32("lm_head.weight", {16, 8})};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    for (const char* n : {"input_layernorm", "post_attention_layernorm"}) {
      t.push_back(f32(p + n + ".weight", {8}));
    }
    for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      t.push_back(f32(p + "self_attn." + n + ".weight", {8, 8}));
    }
  }
  t.push_back(f32("model.layers.0.mlp.gate_proj.weight", {12, 8}));
  t.push_back(f32("model.layers.0.mlp.up_proj.weight", {12, 8}));
  t.push_back(f32("model.layers.0.mlp.down_proj.weight", {8, 12}));
  t.push_back(f32("model.layers.1.mlp.gate.weight", {4, 8}));
  t.push_back(f32("model.layers.1.mlp.shared_experts.gate_proj.weight", {8, 8}));
  t.push_back(f32("model.layers.1.mlp.shared_experts.up_proj.weight", {8, 8}));
  t.push_back(f32("model.layers.1.mlp.shared_experts.down_proj.weight", {8, 8}));
  for (int e = 0; e < 4; ++e) {
    const std::string x = "model.layers.1.mlp.experts." + std::to_string(e) + ".";
    t.push_back(f32(x + "gate_proj.weight", {4, 8}));
    t.push_back(f32(x + "up_proj.weight", {4, 8}));
    t.push_back(f32(x + "down_proj.weight", {8, 4}));
  }
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, t);
  const ResolvedModel m = resolve_tensors(c, lookup_in(ck), "tiny");
  EXPECT_NE(m.find(TensorRole::kDenseDown, 0), nullptr);
  EXPECT_EQ(m.find(TensorRole::kRouter, 0), nullptr);
  EXPECT_EQ(m.find(TensorRole::kSharedDown, 1)->spec.shape, (V{8, 8}));
  EXPECT_EQ(m.find(TensorRole::kSharedExpertGate, 1), nullptr);  // DeepSeek: ungated
  EXPECT_EQ(m.tensors.size(), t.size());
}

TEST(ModelDescriptionErrors, MissingExpertNamesTheLayouts) {
  auto t = qwen_tensors(false);
  std::erase_if(t, [](const StTensor& x) {
    return x.name == "model.layers.1.mlp.experts.2.down_proj.weight";
  });
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, t);
  expect_error(
      [&] { resolve_tensors(tiny_qwen(), lookup_in(ck), "tiny"); },
      "tiny: missing tensor 'model.layers.1.mlp.experts.2.down_proj.weight' (routed expert "
      "down projection of layer 1, expert 2, qwen2_moe); routed experts are read per "
      "expert ('model.layers.1.mlp.experts.{e}.gate_proj.weight'), fused "
      "('model.layers.1.mlp.experts.gate_up_proj', 'model.layers.1.mlp.experts.down_proj') "
      "or stacked");
}

TEST(ModelDescriptionErrors, MissingAttentionTensor) {
  auto t = qwen_tensors(false);
  std::erase_if(t,
                [](const StTensor& x) { return x.name == "model.layers.0.self_attn.k_proj.bias"; });
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, t);
  expect_error([&] { resolve_tensors(tiny_qwen(), lookup_in(ck), "tiny"); },
               "tiny: missing tensor 'model.layers.0.self_attn.k_proj.bias' (attention k bias of "
               "layer 0, qwen2_moe)");
}

TEST(ModelDescriptionErrors, WrongShape) {
  auto t = qwen_tensors(false);
  for (auto& x : t) {
    if (x.name == "model.layers.1.mlp.gate.weight") x = f32(x.name, {5, 8});
  }
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, t);
  expect_error([&] { resolve_tensors(tiny_qwen(), lookup_in(ck), "tiny"); },
               "tiny: tensor 'model.layers.1.mlp.gate.weight' (router of layer 1) has shape "
               "[5, 8], expected [4, 8]");
}

TEST(ModelDescriptionErrors, IntegerDtype) {
  auto t = qwen_tensors(false);
  for (auto& x : t) {
    if (x.name == "model.norm.weight") x.dtype = "I32";
  }
  test::TempDir dir;
  const Checkpoint ck = open_checkpoint(dir, t);
  expect_error([&] { resolve_tensors(tiny_qwen(), lookup_in(ck), "tiny"); },
               "tiny: tensor 'model.norm.weight' has dtype I32, expected F32, F16, BF16, Q8_0, "
               "Q4_0 or Q4_K");
}

TEST(ModelDescription, RopeInterleavedRowsMapBackToHalves) {
  // head_dim 4: file rows (0,1,2,3) hold HF rows (0,2,1,3); the next head is offset by 4
  EXPECT_EQ(hf_row(0, 4), 0);
  EXPECT_EQ(hf_row(1, 4), 2);
  EXPECT_EQ(hf_row(2, 4), 1);
  EXPECT_EQ(hf_row(3, 4), 3);
  EXPECT_EQ(hf_row(5, 4), 6);
  // head_dim 8: file row 2i+j ← HF row 4j+i
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 2; ++j) EXPECT_EQ(hf_row(8 + 2 * i + j, 8), 8 + 4 * j + i);
  }
}

}  // namespace
}  // namespace vkmoe
