// Incremental decode through the KV cache equals one prefill of the whole prompt: prefill 6
// then decode 1, prefill 4 then decode 3 one at a time, and a rewound position decoded again.
// The prefill itself is checked against the numpy reference by the logits_vs_reference tests.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/device_memory.h"
#include "engine/model/forward.h"
#include "engine/vk/error.h"
#include "loaders/model_files.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

using model::ForwardRequest;
using model::LogitsFor;

// CTest's fixture writes them into the build tree; VKMOE_TINY_MODELS points elsewhere.
std::filesystem::path tiny_models() {
  const char* dir = std::getenv("VKMOE_TINY_MODELS");
  return dir != nullptr ? dir : VKMOE_TINY_MODELS_DIR;
}

std::vector<uint32_t> prompt(const std::string& name, const char* length) {
  std::ifstream f(tiny_models() / "manifest.json");
  const nlohmann::json manifest = nlohmann::json::parse(f);
  return manifest.at("models").at(name).at("prompts").at(length).get<std::vector<uint32_t>>();
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// Decode and prefill agree to 1e-4 on the baseline decode path. The GEMV fast paths round
// activations (to int8) or arithmetic (to f16) and are checked against the reference with
// their own tolerance (model.logits_fast_paths), so they are switched off here.
class ForwardDecodeTest : public GpuTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    setenv("VKMOE_DISABLE_FAST_PATHS", "1", 1);
    GpuTest::SetUp();
  }
  void TearDown() override {
    GpuTest::TearDown();
    unsetenv("VKMOE_DISABLE_FAST_PATHS");
  }
};

TEST_P(ForwardDecodeTest, DecodeMatchesFullPrefill) {
  const std::string name = GetParam();
  const ModelFiles files = open_model_files(tiny_models() / name);
  ASSERT_TRUE(files.weights_present());
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const std::vector<uint32_t> tokens = prompt(name, "7");
  ASSERT_EQ(tokens.size(), 7u);
  const std::span<const uint32_t> all(tokens);
  const size_t vocab = static_cast<size_t>(weights.config.vocab_size);

  model::KvCache full_cache(context(), weights.config, 7);
  const std::vector<float> full =
      model::forward(context(), weights, full_cache, {all, 0, LogitsFor::kAll});
  auto row = [&](size_t r) { return std::span(full).subspan(r * vocab, vocab); };

  // Prefill 6, decode 1.
  model::KvCache cache(context(), weights.config, 7);
  model::forward(context(), weights, cache, {all.first(6), 0});
  const std::vector<float> step = model::forward(context(), weights, cache, {all.subspan(6), 6});
  EXPECT_EQ(cache.length(), 7u);
  EXPECT_LE(max_abs_diff(step, row(6)), 1e-4f);

  // Prefill 4 (its last row too), then three decode steps.
  model::KvCache steps(context(), weights.config, 7);
  const std::vector<float> first = model::forward(context(), weights, steps, {all.first(4), 0});
  EXPECT_LE(max_abs_diff(first, row(3)), 1e-4f);
  for (uint32_t p = 4; p < 7; ++p) {
    const std::vector<float> out =
        model::forward(context(), weights, steps, {all.subspan(p, 1), p});
    EXPECT_LE(max_abs_diff(out, row(p)), 1e-4f) << "position " << p;
  }

  // Rewind one position and decode it again: the cache row is overwritten, not appended.
  const std::vector<float> again = model::forward(context(), weights, steps, {all.subspan(6), 6});
  EXPECT_LE(max_abs_diff(again, row(6)), 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ForwardDecodeTest,
                         ::testing::Values("qwen2_moe-f32", "deepseek-f32", "deepseek-f32.gguf",
                                           "qwen2_moe-h40-top1-norm", "qwen2_moe-q4_0.gguf"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string s = param.param;
                           std::replace_if(
                               s.begin(), s.end(), [](char c) { return !std::isalnum(c); }, '_');
                           return s;
                         });

// GGUF quants stay in their blocks on the device: the expert stacks keep the file's type and
// its block bytes (the memory plan), the embedding table is decoded to f32 by design, and
// nothing counts as decoded on the host.
class QuantisedWeightsTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::pair<const char*, ops::DType>> {};

TEST_P(QuantisedWeightsTest, StayQuantisedOnTheDevice) {
  const auto [name, type] = GetParam();
  const ModelFiles files = open_model_files(tiny_models() / name);
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  EXPECT_FALSE(weights.decoded_on_host);
  EXPECT_EQ(weights.embedding.type, ops::DType::f32);
  int quantised_stacks = 0;
  for (const model::LayerWeights& layer : weights.layers) {
    if (!layer.moe) continue;
    for (const model::DeviceMatrix* m :
         {&layer.experts_gate, &layer.experts_up, &layer.experts_down}) {
      EXPECT_EQ(m->type, type) << name;
      EXPECT_EQ(m->buffer.size(),
                ops::dtype_matrix_bytes(type, uint64_t{m->experts} * m->rows, m->cols, m->cols));
      ++quantised_stacks;
    }
  }
  EXPECT_GT(quantised_stacks, 0);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, QuantisedWeightsTest,
                         ::testing::Values(std::pair{"qwen2_moe-q8_0.gguf", ops::DType::q8_0},
                                           std::pair{"qwen2_moe-q4_0.gguf", ops::DType::q4_0},
                                           std::pair{"qwen2_moe-h256-q4_k.gguf", ops::DType::q4_k}),
                         [](const auto& param) {
                           return std::string(ops::dtype_name(param.param.second));
                         });

class ForwardErrorsTest : public GpuTest {};

TEST_F(ForwardErrorsTest, RefusesBadTokensAndFullCaches) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  model::KvCache cache(context(), weights.config, 2);
  const uint32_t outside[] = {static_cast<uint32_t>(weights.config.vocab_size)};
  EXPECT_THROW(model::forward(context(), weights, cache, {outside, 0}), Error);
  const uint32_t three[] = {1, 2, 3};
  EXPECT_THROW(model::forward(context(), weights, cache, {three, 0}), Error);
  const uint32_t one[] = {1};
  EXPECT_THROW(model::forward(context(), weights, cache, {one, 1}), Error);  // a gap
  EXPECT_EQ(cache.length(), 0u);
}

TEST_F(ForwardErrorsTest, TooLargeForTheDeviceSaysSoWithNumbers) {
  try {
    model::require_device_memory(context(), uint64_t{1} << 60, "a model");
    FAIL() << "expected OutOfDeviceMemory";
  } catch (const OutOfDeviceMemory& e) {
    EXPECT_NE(std::string(e.what()).find("a model needs 1073741824.00 GiB of device memory"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vkmoe::test
