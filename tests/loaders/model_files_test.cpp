#include "loaders/model_files.h"

#include <gtest/gtest.h>

#include "loaders/load_error.h"
#include "loaders/param_count.h"
#include "loaders/run_memory.h"
#include "tests/loaders/checkpoint_writers.h"

namespace vkmoe {
namespace {

const std::string kAssets = std::string(VKMOE_SOURCE_DIR) + "/assets/configs/";

TEST(ModelFiles, ConfigOnlyCopiesOpenWithoutWeights) {
  for (const char* name : {"Qwen1.5-MoE-A2.7B", "deepseek-moe-16b-base"}) {
    const ModelFiles m = open_model_files(kAssets + name);
    EXPECT_EQ(m.format, ModelFormat::kHuggingFace);
    EXPECT_FALSE(m.weights_present());
    ASSERT_TRUE(m.index.has_value());
    EXPECT_EQ(m.index->shard_files().size(), 7u);
    // the index lists exactly the tensors the description expects, and total_size is the bf16
    // size of the parameter count
    const auto specs = describe_tensors(m.config, ExpertLayout::kPerExpert);
    EXPECT_EQ(m.index->weight_map.size(), specs.size()) << name;
    for (const TensorSpec& s : specs) EXPECT_TRUE(m.index->weight_map.contains(s.name)) << s.name;
    EXPECT_EQ(m.index->total_size, 2 * count_params(m.config).total) << name;
  }
}

TEST(ModelFiles, SingleFileFolderWithWeights) {
  test::TempDir dir;
  dir.write(
      "config.json",
      R"({"model_type":"qwen2_moe","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,)"
      R"("num_key_value_heads":2,"num_experts":2,"num_experts_per_tok":1,"moe_intermediate_size":4,)"
      R"("shared_expert_intermediate_size":0,"vocab_size":4,"tie_word_embeddings":true,)"
      R"("torch_dtype":"bfloat16"})");
  const auto bf16 = [](const std::string& name, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return test::StTensor{name, "BF16", shape,
                          std::vector<std::byte>(static_cast<std::size_t>(n) * 2)};
  };
  const std::string p = "model.layers.0.";
  dir.write(
      "model.safetensors",
      test::st_file(
          {bf16("model.embed_tokens.weight", {4, 8}), bf16("model.norm.weight", {8}),
           bf16(p + "input_layernorm.weight", {8}),
           bf16(p + "post_attention_layernorm.weight", {8}),
           bf16(p + "self_attn.q_proj.weight", {8, 8}), bf16(p + "self_attn.q_proj.bias", {8}),
           bf16(p + "self_attn.k_proj.weight", {8, 8}), bf16(p + "self_attn.k_proj.bias", {8}),
           bf16(p + "self_attn.v_proj.weight", {8, 8}), bf16(p + "self_attn.v_proj.bias", {8}),
           bf16(p + "self_attn.o_proj.weight", {8, 8}), bf16(p + "mlp.gate.weight", {2, 8}),
           bf16(p + "mlp.experts.gate_up_proj", {2, 8, 8}),
           bf16(p + "mlp.experts.down_proj", {2, 8, 4})}));
  const ModelFiles m = open_model_files(dir.path());
  ASSERT_TRUE(m.weights_present());
  EXPECT_EQ(m.tensors->tensors.size(), 14u);
  EXPECT_EQ(m.tensors->layout[0], ExpertLayout::kFused);
  EXPECT_EQ(m.tensors->weight_bytes(), 2 * count_params(m.config).total);
  EXPECT_GT(m.file_bytes(), m.tensors->weight_bytes());  // + the header
}

TEST(ModelFilesErrors, EachMessage) {
  test::TempDir dir;
  const auto txt = dir.write("model.bin", "x");
  try {
    open_model_files(txt);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(
        std::string(e.what()).find("model.bin: not a model folder (config.json + safetensors) "
                                   "or a .gguf file"),
        std::string::npos)
        << e.what();
  }
  const auto gguf = dir.write("m.gguf", "GGUF");
  try {
    open_model_files(gguf);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("m.gguf: file of 4 bytes is too short"), std::string::npos)
        << e.what();
  }
  try {
    open_model_files(dir.path());  // a folder without config.json
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: cannot open"), std::string::npos)
        << e.what();
  }
}

TEST(RunMemory, ByHand) {
  ModelConfig c;
  c.vocab_size = 10;
  c.hidden_size = 8;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.head_dim = 4;
  c.intermediate_size = 16;
  c.num_experts = 4;
  c.experts_per_token = 2;
  c.moe_intermediate_size = 4;
  c.shared_intermediate_size = 6;
  c.ffn = {FfnKind::kDense, FfnKind::kMoe};
  c.attention = {AttentionKind::kFull, AttentionKind::kSliding};
  c.sliding_window = 100;
  const RunMemory m =
      estimate_run_memory(c, 1000, {.context = 300, .batch = 2, .kv_dtype = DType::kF16});
  EXPECT_EQ(m.weights, 1000u);
  // K and V: 2 × 1 head × 4 × 2 bytes = 16 bytes per token; 300 tokens + 100 (sliding window)
  EXPECT_EQ(m.kv_cache, 16u * 300 + 16u * 100);
  // per token: 4·8 + 2·8 + 2·4 + 4 + 3·max(16, 2·4 + 6) + 2·8 + 10 = 134 floats
  EXPECT_EQ(m.scratch, 2u * 134 * 4);
  EXPECT_EQ(m.total(), m.weights + m.kv_cache + m.scratch);
}

}  // namespace
}  // namespace vkmoe
