// The sparsity prior of strategy (b) (BayesPrior::weight_concentration: Dirichlet(alpha) on
// softmax(beta0)): the reference is a normalised density in beta0 (integrated numerically),
// its gradient matches central differences, and the GPU kernel matches the reference.
#include <cmath>
#include <numbers>

#include "engine/stats/bayes_density.h"
#include "engine/stats/bayes_hmc.h"
#include "tests/stats/density_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

using stats::BayesMoe;
using stats::Dataset;
using stats::ExpertFamily;

BayesMoe make_model(uint32_t experts, double alpha) {
  BayesMoe model;
  model.family = ExpertFamily::sigmoid;
  model.dimension = 2;
  model.experts = experts;
  model.prior = {2.0, 3.0, 2.5, 0.2, alpha};
  return model;
}

Dataset make_data(uint32_t samples) {
  return stats_test::three_atom_data(ExpertFamily::sigmoid, samples, 31);
}

// Gates and experts N(0, 1.5^2): gate biases spread wide, so some weights are small.
constexpr uint64_t kPointSeed = 17;
constexpr double kPointSd = 1.5;
std::vector<double> random_point(const BayesMoe& model, const std::vector<uint8_t>& free,
                                 uint64_t stream) {
  return stats_test::random_point(model, free, kPointSeed, stream, kPointSd);
}

TEST(WeightPrior, IsANormalisedDensityOfTheFreeGateBias) {
  // K = 2, only beta0 of atom 0 free, no data: the value is log p(beta0) alone, and the
  // Dirichlet(alpha, alpha) pushed through pi_1 = sigmoid(beta0) integrates to one (its tails
  // decay like exp(-alpha |beta0|)).
  for (double alpha : {0.3, 1.0, 2.5}) {
    const BayesMoe model = make_model(2, alpha);
    const Dataset empty{2, 0, {}};
    std::vector<uint8_t> free(model.parameters(), 0);
    free[model.gate_bias(0)] = 1;
    std::vector<double> theta(model.parameters(), 0.0);
    const double h = 0.01, half = 200.0 / alpha;
    double integral = 0;
    for (double b = -half; b <= half; b += h) {
      theta[model.gate_bias(0)] = b;
      integral += h * std::exp(stats::log_posterior(model, empty, theta, free));
    }
    EXPECT_NEAR(integral, 1.0, 1e-6) << "alpha " << alpha;
    // At alpha = 1 the weights are uniform on the simplex: p(beta0) = pi_1 pi_2.
    if (alpha == 1.0) {
      theta[model.gate_bias(0)] = 0.7;
      const double pi = 1 / (1 + std::exp(-0.7));
      EXPECT_NEAR(stats::log_posterior(model, empty, theta, free), std::log(pi * (1 - pi)), 1e-12);
    }
  }
}

TEST(WeightPrior, ReplacesTheGaussianOfTheGateBiasesOnly) {
  // Same point, alpha = 0 vs alpha > 0: the difference is the Dirichlet term minus the
  // Gaussians of the free gate biases, with the data's likelihood unchanged.
  const BayesMoe gaussian = make_model(3, 0.0), sparse = make_model(3, 0.4);
  const Dataset data = make_data(21);
  const std::vector<uint8_t> free = stats::default_free_mask(gaussian);
  const std::vector<double> theta = random_point(gaussian, free, 2);
  double expected = std::lgamma(3 * 0.4) - 3 * std::lgamma(0.4);
  double normaliser = 0;
  for (uint32_t i = 0; i < 3; ++i) normaliser += std::exp(theta[gaussian.gate_bias(i)]);
  for (uint32_t i = 0; i < 3; ++i) {
    const double b = theta[gaussian.gate_bias(i)];
    expected += 0.4 * (b - std::log(normaliser));
    if (free[gaussian.gate_bias(i)]) {
      expected -= -0.5 * b * b / 4.0 - std::log(2.0) - 0.5 * std::log(2 * std::numbers::pi);
    }
  }
  EXPECT_NEAR(stats::log_posterior(sparse, data, theta, free) -
                  stats::log_posterior(gaussian, data, theta, free),
              expected, 1e-9);
  // Nothing free (the evidence's likelihood-only evaluation): no prior term at all.
  const std::vector<uint8_t> none(gaussian.parameters(), 0);
  EXPECT_EQ(stats::log_posterior(sparse, data, theta, none),
            stats::log_posterior(gaussian, data, theta, none));
}

TEST(WeightPrior, ReferenceGradientMatchesCentralDifferences) {
  const BayesMoe model = make_model(4, 0.25);
  const Dataset data = make_data(37);
  const std::vector<uint8_t> free = stats::default_free_mask(model);
  for (uint64_t point = 0; point < 3; ++point) {
    std::vector<double> theta = random_point(model, free, point);
    std::vector<double> gradient(theta.size());
    stats::log_posterior(model, data, theta, free, gradient);
    const std::vector<double> numeric = stats_test::central_differences(model, data, theta, free);
    for (size_t q = 0; q < theta.size(); ++q) {
      EXPECT_NEAR(gradient[q], numeric[q], 1e-6 * (1 + std::abs(numeric[q])))
          << "point " << point << " parameter " << q;
    }
  }
}

class WeightPriorGpu : public GpuTest {};

TEST_F(WeightPriorGpu, KernelMatchesTheReference) {
  stats::HmcProblem problem;
  problem.model = make_model(4, 0.25);
  const Dataset data = make_data(37);
  problem.data = &data;
  const std::vector<uint8_t> free = stats::default_free_mask(problem.model);
  const std::vector<double> positions =
      stats_test::float_points(problem.model, free, kPointSeed, 4, kPointSd);
  const stats::DensityAt gpu = stats::log_posterior_gpu(context(), problem, positions);
  stats_test::expect_kernel_matches_reference(gpu, problem.model, data, positions, free,
                                              "alpha 0.25");
}

}  // namespace
}  // namespace vkmoe::test
