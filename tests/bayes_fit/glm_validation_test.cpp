// `--prior-precision val`'s NLL (engine/bayes/glm_validation.h) on a tiny model: with λ → ∞ the
// posterior collapses onto the MAP and the GLM predictive's NLL is the MAP's; with a small λ the
// logit covariance is large and the NLL moves. A fit with val writes the grid's best λ.
#include <cmath>
#include <filesystem>
#include <vector>

#include "engine/bayes/glm_validation.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
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

}  // namespace
}  // namespace vkmoe::test
