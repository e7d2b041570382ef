// A device whose maxMemoryAllocationSize is smaller than an expert stack: the loader keeps every
// stack in parts of whole experts, and prefill (expert GEMM) and decode (expert GEMV) give the
// logits of the unsplit model. VKMOE_MAX_ALLOCATION_SIZE stands in for the small limit.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <vector>

#include "engine/model/forward.h"
#include "engine/vk/error.h"
#include "loaders/model_files.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::filesystem::path tiny_models() {
  const char* dir = std::getenv("VKMOE_TINY_MODELS");
  return dir != nullptr ? dir : VKMOE_TINY_MODELS_DIR;
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

class SplitExpertStacksTest : public GpuTest {};

TEST_F(SplitExpertStacksTest, PartsOfWholeExpertsGiveTheLogitsOfOneBuffer) {
  // 32 experts of [128, 32] BF16 (8 KiB each): 256 KiB per stack, 24 experts per 192 KiB part.
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-many-experts");
  ASSERT_TRUE(files.weights_present());
  const std::vector<uint32_t> tokens = {5, 17, 3, 250, 9, 41, 77};
  const std::span<const uint32_t> all(tokens);

  const model::ModelWeights whole = model::load_model_weights(context(), *files.tensors);
  model::KvCache whole_cache(context(), whole.config, 7);
  const std::vector<float> expected =
      model::forward(context(), whole, whole_cache, {all, 0, model::LogitsFor::kAll});

  setenv("VKMOE_MAX_ALLOCATION_SIZE", "196608", 1);
  vk::Context small(vk::ContextOptions{.validation = 1});
  unsetenv("VKMOE_MAX_ALLOCATION_SIZE");
  ASSERT_EQ(small.allocator().max_allocation_size(), 196608u);
  {
    const model::ModelWeights split = model::load_model_weights(small, *files.tensors);
    int stacks = 0;
    for (const model::LayerWeights& layer : split.layers) {
      if (!layer.moe) continue;
      for (const model::DeviceMatrix* m :
           {&layer.experts_gate, &layer.experts_up, &layer.experts_down}) {
        EXPECT_EQ(m->experts_per_part, 24u);
        ASSERT_EQ(m->more_parts.size(), 1u);
        EXPECT_EQ(m->buffer.size(), 24u * 128 * 32 * 2);
        EXPECT_EQ(m->more_parts[0].size(), 8u * 128 * 32 * 2);
        ++stacks;
      }
    }
    EXPECT_EQ(stacks, 6);

    // Prefill of all 7 positions: the expert GEMM, one dispatch per part.
    const size_t vocab = static_cast<size_t>(split.config.vocab_size);
    model::KvCache cache(small, split.config, 7);
    const std::vector<float> prefill =
        model::forward(small, split, cache, {all, 0, model::LogitsFor::kAll});
    EXPECT_LE(max_abs_diff(prefill, expected), 1e-5f);

    // Prefill 5 (the GEMM), then one token at a time (the expert GEMV).
    model::KvCache steps(small, split.config, 7);
    model::forward(small, split, steps, {all.first(5), 0});
    for (uint32_t p = 5; p < 7; ++p) {
      const std::vector<float> out = model::forward(small, split, steps, {all.subspan(p, 1), p});
      EXPECT_LE(max_abs_diff(out, std::span(expected).subspan(p * vocab, vocab)), 1e-4f)
          << "position " << p;
    }
  }
  EXPECT_EQ(small.validation_message_count(), 0u);

  // A limit below a tensor that cannot be split (the embedding table): refused, not crashed.
  setenv("VKMOE_MAX_ALLOCATION_SIZE", "4096", 1);
  vk::Context tiny(vk::ContextOptions{.validation = 1});
  unsetenv("VKMOE_MAX_ALLOCATION_SIZE");
  try {
    model::load_model_weights(tiny, *files.tensors);
    ADD_FAILURE() << "expected the load to be refused";
  } catch (const OutOfDeviceMemory& e) {
    EXPECT_NE(std::string(e.what()).find("maxMemoryAllocationSize"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkmoe::test
