// `--prior-precision val`'s NLL (engine/bayes/glm_validation.h) on a tiny model: with λ → ∞ the
// posterior collapses onto the MAP and the GLM predictive's NLL is the MAP's; with a small λ the
// logit covariance is large and the NLL moves. A fit with val writes the grid's best λ. The
// Jacobians themselves against central differences of log p_c in an expert's down_proj weights.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "engine/bayes/fisher_targets.h"
#include "engine/bayes/glm_validation.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
#include "engine/model/saved_forward.h"
#include "loaders/model_files.h"
#include "tests/bayes_fit/fit_support.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

class GlmValidationTest : public GpuTest {};

TEST_F(GlmValidationTest, LargeLambdaGivesTheMapNll) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const std::vector<bayes::FitExample> train = tiny_examples(6), val = tiny_examples(3);

  bayes::LaplaceFitOptions o;
  o.layers = bayes::select_layers("all", weights.config);
  o.rank = 8;
  o.prior_precision = {bayes::PrecisionChoice::kValidation, 0};
  o.validation = val;
  o.output = std::filesystem::path(::testing::TempDir()) / "glm_validation.safetensors";
  const bayes::LaplaceFitResult fit = bayes::fit_laplace(context(), weights, train, o);
  ASSERT_TRUE(fit.complete);
  const std::vector<double> grid = bayes::log_grid(
      bayes::kValidationGridMin, bayes::kValidationGridMax, bayes::kValidationGridPoints);
  ASSERT_EQ(fit.validation.nll_per_lambda.size(), grid.size());
  EXPECT_EQ(fit.posterior.prior_precision, std::vector<double>{fit.validation.prior_precision});
  const bayes::Posterior file =
      bayes::read_posterior_file(o.output, bayes::model_fingerprint(weights.config));
  EXPECT_FLOAT_EQ(static_cast<float>(file.prior_precision.at(0)),
                  static_cast<float>(fit.validation.prior_precision));

  const std::vector<bayes::ValidationJacobians> data =
      bayes::gather_validation_jacobians(context(), weights, val, o.layers);
  double map_nll = 0;
  for (const bayes::ValidationJacobians& v : data) {
    map_nll -= v.mean[static_cast<std::size_t>(v.label)];
  }
  map_nll /= static_cast<double>(data.size());
  EXPECT_NEAR(bayes::glm_validation_nll(fit.posterior, data, 1e12, {}), map_nll, 1e-6);
  EXPECT_GT(std::fabs(bayes::glm_validation_nll(fit.posterior, data, 1e-4, {}) - map_nll), 1e-3);
  std::filesystem::remove(o.output);
}

// ⟨J_c, ΔW⟩ = Σ_t g_tᵀ ΔW a_t against (log p_c(W + ΔW) − log p_c(W − ΔW))/2, for the expert of
// the last MoE layer that carries the largest gradient (there, only the scoring position has
// one, and no routing downstream can flip).
TEST_F(GlmValidationTest, JacobiansMatchCentralDifferences) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const std::vector<bayes::FitExample> val = tiny_examples(2);
  const bayes::FitExample& ex = val[1];
  const std::vector<std::int64_t> layers = bayes::select_layers("all", weights.config);
  const std::vector<bayes::ValidationJacobians> data =
      bayes::gather_validation_jacobians(context(), weights, std::span(&ex, 1), layers);
  const auto H = static_cast<std::size_t>(weights.config.hidden_size);
  const auto I = static_cast<std::size_t>(weights.config.moe_intermediate_size);

  const bayes::ExpertRows* best = nullptr;
  double best_norm = 0;
  for (const bayes::ExpertRows& e : data[0].experts) {
    if (e.layer + 1 != layers.size()) continue;
    double norm = 0;
    for (double x : e.g[0]) norm += x * x;
    if (norm > best_norm) {
      best_norm = norm;
      best = &e;
    }
  }
  ASSERT_NE(best, nullptr);
  ASSERT_GT(best_norm, 0);

  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  std::vector<float> delta(H * I);
  for (float& x : delta) x = 2e-2f * normal(rng);
  const model::DeviceMatrix& down = weights.layers.at(layers.back()).experts_down;
  ASSERT_EQ(down.type, ops::DType::f32);
  const vk::BufferSpan w = down.buffer.span(best->expert * H * I * 4, H * I * 4);
  std::vector<float> original(H * I);
  stream().download(w, original.data(), original.size() * 4);
  stream().finish();

  const auto log_p = [&](float sign) {
    std::vector<float> moved(original);
    for (std::size_t k = 0; k < moved.size(); ++k) moved[k] += sign * delta[k];
    stream().upload(w, moved.data(), moved.size() * 4);
    stream().finish();
    const model::SavedForward forward(context(), weights, ex.prompt);
    std::vector<float> logits;
    for (uint32_t t : ex.answers) logits.push_back(forward.last_logits()[t]);
    std::vector<double> out;
    for (double p : bayes::label_probabilities(logits)) out.push_back(std::log(p));
    return out;
  };
  const std::vector<double> plus = log_p(1), minus = log_p(-1);
  log_p(0);  // the weights as loaded

  double largest = 0;
  for (std::size_t c = 0; c < ex.answers.size(); ++c) {
    double linear = 0;  // Σ_t g_tᵀ ΔW a_t, W row-major [H, I]
    for (std::int64_t t = 0; t < best->terms; ++t) {
      for (std::size_t h = 0; h < H; ++h) {
        double row = 0;
        for (std::size_t i = 0; i < I; ++i) row += delta[h * I + i] * best->a[t * I + i];
        linear += best->g[c][t * H + h] * row;
      }
    }
    const double difference = (plus[c] - minus[c]) / 2;
    EXPECT_NEAR(linear, difference, 0.02 * std::fabs(difference) + 1e-5) << "label " << c;
    largest = std::max(largest, std::fabs(difference));
  }
  EXPECT_GT(largest, 1e-3);  // a step the f32 forward resolves
}

}  // namespace
}  // namespace vkmoe::test
