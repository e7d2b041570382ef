// Bayesian-MoE's exact Fisher runs C backward passes over one forward, one per answer label
// (weighted by the model's probabilities): backward() must leave the SavedForward as it found it
// (a repeated pass gives the same g bit for bit) and, the loss being linear in its targets, g of
// the targets e₁ + e₂ must be g(e₁) + g(e₂).
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/model/backward.h"
#include "engine/model/saved_forward.h"
#include "loaders/model_files.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::filesystem::path tiny_models() {
  const char* dir = std::getenv("VKMOE_TINY_MODELS");
  return dir != nullptr ? dir : VKMOE_TINY_MODELS_DIR;
}

class BackwardTargetsTest : public GpuTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(BackwardTargetsTest, RepeatablePassesLinearInTheTargets) {
  const ModelFiles files = open_model_files(tiny_models() / GetParam());
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const uint32_t tokens[] = {5, 1, 9, 2, 7};
  const model::SavedForward saved(context(), weights, tokens);
  const uint32_t answers[] = {3, 10, 17};
  const auto H = static_cast<size_t>(weights.config.hidden_size);

  // Every MoE layer's g, back to back.
  const auto g_of = [&](std::vector<float> targets) {
    const model::ActivationGradients grads =
        model::backward(context(), weights, saved, {answers, targets});
    std::vector<float> all;
    for (const model::MoeLayerActivations& m : grads.moe_layers()) {
      std::vector<float> g(m.entries * H);
      stream().download(m.g, g.data(), g.size() * sizeof(float));
      stream().finish();
      all.insert(all.end(), g.begin(), g.end());
    }
    return all;
  };
  const std::vector<float> first = g_of({1, 0, 0});
  const std::vector<float> second = g_of({0, 1, 0});
  const std::vector<float> both = g_of({1, 1, 0});
  EXPECT_EQ(g_of({1, 0, 0}), first);

  std::vector<float> sum(first.size());
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = first[i] + second[i];
  EXPECT_LE(nmse(both, sum), 1e-10);
  EXPECT_GT(nmse(first, second), 1e-2);  // different labels, different gradients
}

INSTANTIATE_TEST_SUITE_P(TinyModels, BackwardTargetsTest,
                         ::testing::Values("qwen2_moe-f32", "deepseek-f32"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string s = param.param;
                           for (char& ch : s) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return s;
                         });

}  // namespace
}  // namespace vkmoe::test
