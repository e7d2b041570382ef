// The sampled (`mc`) predictive's weights (engine/bayes/expert_weight_sampler.h) on a tiny
// model: at a large λ the network is linear in ΔW over the posterior's spread, so the sample
// covariance of the label log-probabilities under S weight draws matches the GLM's logit
// covariance (engine/bayes/predictive.h) within sampling error; restore() gives back W_MAP bit for
// bit; a seed reproduces a draw.
#include <cmath>
#include <filesystem>
#include <vector>

#include "engine/bayes/expert_weight_sampler.h"
#include "engine/bayes/fisher_targets.h"
#include "engine/bayes/glm_validation.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/predictive.h"
#include "engine/model/saved_forward.h"
#include "loaders/model_files.h"
#include "tests/bayes_fit/fit_support.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

class ExpertWeightSamplerTest : public GpuTest {
 protected:
  std::vector<double> log_probabilities(const model::ModelWeights& w, const bayes::FitExample& e) {
    const model::SavedForward forward(context(), w, e.prompt);
    std::vector<float> logits;
    for (uint32_t token : e.answers) logits.push_back(forward.last_logits().at(token));
    std::vector<double> out;
    for (double p : bayes::label_probabilities(logits)) out.push_back(std::log(p));
    return out;
  }
};

TEST_F(ExpertWeightSamplerTest, SampleCovarianceMatchesTheGlmAtLargeLambda) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  bayes::LaplaceFitOptions o;
  o.layers = bayes::select_layers("all", weights.config);
  o.rank = 8;
  o.prior_precision = {bayes::PrecisionChoice::kFixed, 1e4};
  o.output = std::filesystem::path(::testing::TempDir()) / "sampler.safetensors";
  const bayes::LaplaceFitResult fit = bayes::fit_laplace(context(), weights, tiny_examples(6), o);
  ASSERT_TRUE(fit.complete);
  std::filesystem::remove(o.output);

  const bayes::FitExample example = tiny_examples(3).back();  // 4 answers
  const std::vector<double> map = log_probabilities(weights, example);
  const std::vector<bayes::ValidationJacobians> j =
      bayes::gather_validation_jacobians(context(), weights, {&example, 1}, o.layers);
  const std::size_t C = map.size();
  std::vector<bayes::ExpertLogitJacobians> experts;
  for (const bayes::ExpertRows& e : j.front().experts) {
    bayes::ExpertLogitJacobians x;
    x.factors = &fit.posterior.layers.at(e.layer).experts.at(e.expert);
    x.scale = {1e4, fit.posterior.temperature};
    for (const std::vector<double>& g : e.g) x.per_class.push_back({g, e.a, e.terms});
    experts.push_back(std::move(x));
  }
  const std::vector<double> sigma = bayes::logit_covariance(experts, static_cast<std::int64_t>(C));

  constexpr int kSamples = 400;
  std::vector<double> sum(C, 0.0), sum_sq(C, 0.0);
  {
    bayes::ExpertWeightSampler sampler(context(), weights, fit.posterior, std::nullopt, 11);
    for (int s = 0; s < kSamples; ++s) {
      sampler.draw(static_cast<std::uint32_t>(s));
      const std::vector<double> lp = log_probabilities(weights, example);
      for (std::size_t c = 0; c < C; ++c) {
        sum[c] += lp[c] - map[c];
        sum_sq[c] += (lp[c] - map[c]) * (lp[c] - map[c]);
      }
    }
    sampler.draw(3);
    const std::vector<double> a = log_probabilities(weights, example);
    sampler.draw(3);
    EXPECT_EQ(log_probabilities(weights, example), a);  // a seed and draw reproduce a sample
    EXPECT_NE(a, map);
    sampler.restore();
    EXPECT_EQ(log_probabilities(weights, example), map);  // W_MAP back, bit for bit
  }
  for (std::size_t c = 0; c < C; ++c) {
    const double mean = sum[c] / kSamples;
    const double var = sum_sq[c] / kSamples - mean * mean;
    const double glm = sigma[c * C + c];
    ASSERT_GT(glm, 0.0);
    // The sample variance of a Gaussian has relative standard error √(2/S) ≈ 0.07.
    EXPECT_NEAR(var / glm, 1.0, 0.3) << "class " << c << ": mc " << var << ", glm " << glm;
  }
}

}  // namespace
}  // namespace vkmoe::test
