#include "engine/bayes/fit_plan.h"

#include <gtest/gtest.h>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/layer_selection.h"
#include "loaders/hf_config.h"

namespace vkmoe::bayes {
namespace {

ModelConfig config(const char* name) {
  return load_hf_config(std::string(VKMOE_SOURCE_DIR) + "/assets/configs/" + name);
}

// Figures worked out by hand from the configs (H = 2048, I = 1408 for both models).
TEST(FitPlan, Qwen15MoeAtRank32) {
  const ModelConfig c = config("Qwen1.5-MoE-A2.7B");
  const FitPlan p = plan_fit(c, select_layers("all", c), 32);
  EXPECT_EQ(p.layers.size(), 24u);
  EXPECT_EQ(p.experts, 1440);
  EXPECT_EQ(p.h, 2048);
  EXPECT_EQ(p.i, 1408);
  EXPECT_EQ(p.params, 4'152'360'960u);        // 1440 · 2048 · 1408
  EXPECT_EQ(p.factor_entries, 159'346'080u);  // 1440 · (3456 · 32 + 64 + 1)
  EXPECT_NEAR(static_cast<double>(p.factor_bytes) / (1 << 20), 607.86, 0.01);
  EXPECT_EQ(p.expert_dense_bytes, (2048u * 2048 + 1408u * 1408) * 8);
  EXPECT_EQ(p.merge_peak_bytes, p.expert_dense_bytes + 3u * 2048 * 2048 * 8);
  // 256 MiB / ((2048² + 1408²) · 4 bytes) = 10.9: 10 experts' Grams beside the 1 GiB of rows
  EXPECT_EQ(p.gram_group, 10);
  EXPECT_EQ(p.kfac_device_bytes, (1u << 30) + 10u * (2048u * 2048 + 1408u * 1408) * 4);
  // file: the f32 factors, M as i64 (4 more bytes each), λ, T, and a header
  const std::uint64_t data = p.factor_bytes + 1440u * 4 + 8;
  EXPECT_GT(p.file_bytes, data);
  EXPECT_LT(p.file_bytes, data + 1440u * 5 * 120);
}

TEST(FitPlan, DeepseekMoe16bSkipsTheDenseFirstLayer) {
  const ModelConfig c = config("deepseek-moe-16b-base");
  const FitPlan p = plan_fit(c, select_layers("all", c), 32);
  EXPECT_EQ(p.layers.front(), 1);
  EXPECT_EQ(p.layers.back(), 27);
  EXPECT_EQ(p.experts, 1728);
  EXPECT_EQ(p.params, 4'982'833'152u);  // 1728 · 2048 · 1408
  EXPECT_EQ(p.factor_entries, 1728u * (3456 * 32 + 65));
  const FitPlan q2 = plan_fit(c, select_layers("q2", c), 8);
  EXPECT_EQ(q2.experts, 7 * 64);
  EXPECT_EQ(q2.factor_entries, 7u * 64 * (3456 * 8 + 17));
}

TEST(FitPlan, RankAboveAWidthIsClamped) {
  ModelConfig c = config("Qwen1.5-MoE-A2.7B");
  const FitPlan p = plan_fit(c, {0}, 5000);
  EXPECT_EQ(p.rank_g, 2048);
  EXPECT_EQ(p.rank_a, 1408);
  EXPECT_THROW(plan_fit(c, {0}, 0), BayesError);
  EXPECT_THROW(plan_fit(c, {}, 32), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
