// The log posterior of the Bayesian MoE: the C++ reference against closed forms and central
// finite differences, and the GPU kernel (shaders/stats_hmc.comp) against both.
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

// Three atoms in two dimensions; 37 rows (not a multiple of the kernel's 64 invocations).
Dataset make_data(ExpertFamily family, uint32_t samples) {
  return stats_test::three_atom_data(family, samples, 23);
}

BayesMoe make_model(ExpertFamily family) {
  BayesMoe model;
  model.family = family;
  model.dimension = 2;
  model.experts = 3;
  model.prior = {2.0, 3.0, 2.5, 0.2};
  return model;
}

// Gates and experts N(0, 0.7^2).
constexpr uint64_t kPointSeed = 9;
constexpr double kPointSd = 0.7;
std::vector<double> random_point(const BayesMoe& model, const std::vector<uint8_t>& free,
                                 uint64_t stream) {
  return stats_test::random_point(model, free, kPointSeed, stream, kPointSd);
}

const ExpertFamily kFamilies[] = {ExpertFamily::linear, ExpertFamily::sigmoid, ExpertFamily::tanh};

TEST(BayesDensity, SingleLinearExpertIsGaussianRegressionWithGaussianPrior) {
  BayesMoe model;
  model.family = ExpertFamily::linear;
  model.experts = 1;
  model.prior = {1.0, 2.0, 3.0, 0.5};
  const Dataset data = make_data(ExpertFamily::linear, 20);
  Dataset one = data;  // drop the second covariate: a 1-D data set
  one.dimension = 1;
  one.rows.clear();
  for (uint32_t s = 0; s < data.samples; ++s)
    one.rows.insert(one.rows.end(), {data.row(s)[0], data.row(s)[2]});
  const std::vector<uint8_t> free = stats::default_free_mask(model);
  const double a = 0.7, b = -0.2, v = std::log(0.3);
  const std::vector<double> theta = {0.0, 0.0, a, b, v};
  double expected = 0;
  const double var = std::exp(v), two_pi = 2 * std::numbers::pi;
  for (uint32_t s = 0; s < one.samples; ++s) {
    const double r = one.row(s)[1] - (a * one.row(s)[0] + b);
    expected += -0.5 * std::log(two_pi * var) - 0.5 * r * r / var;
  }
  const double sd = 2.0;
  expected += -0.5 * (a * a + b * b) / (sd * sd) - std::log(two_pi * sd * sd);
  // InvGamma(3, 0.5) density of sigma^2 times the Jacobian sigma^2.
  expected += 3.0 * std::log(0.5) - std::lgamma(3.0) - 3.0 * v - 0.5 / var;
  EXPECT_NEAR(stats::log_posterior(model, one, theta, free), expected, 1e-10);
}

TEST(BayesDensity, IdenticalAtomsGiveTheSingleAtomLikelihood) {
  // Two equal experts with equal variances: the mixture is that one Gaussian whatever the gates.
  BayesMoe two = make_model(ExpertFamily::tanh);
  two.experts = 2;
  BayesMoe one = two;
  one.experts = 1;
  const Dataset data = make_data(ExpertFamily::tanh, 15);
  std::vector<double> theta2 = {0.4, -0.3, 0.8, 1.1, -0.6, 0.2, -0.7,
                                0,   0,    0,   1.1, -0.6, 0.2, -0.7};
  std::vector<double> theta1 = {0, 0, 0, 1.1, -0.6, 0.2, -0.7};
  // Nothing free: no prior terms, the two likelihoods alone are compared.
  std::vector<uint8_t> free2(14, 0), free1(7, 0);
  EXPECT_NEAR(stats::log_posterior(two, data, theta2, free2),
              stats::log_posterior(one, data, theta1, free1), 1e-10);
}

TEST(BayesDensity, ReferenceGradientMatchesCentralDifferences) {
  for (ExpertFamily family : kFamilies) {
    const BayesMoe model = make_model(family);
    const Dataset data = make_data(family, 37);
    const std::vector<uint8_t> free = stats::default_free_mask(model);
    for (uint64_t point = 0; point < 3; ++point) {
      const std::vector<double> theta = random_point(model, free, point);
      std::vector<double> gradient(theta.size());
      stats::log_posterior(model, data, theta, free, gradient);
      const std::vector<double> numeric = stats_test::central_differences(model, data, theta, free);
      for (size_t q = 0; q < theta.size(); ++q) {
        // Central differences at h = 1e-5: truncation ~h^2 f''' and rounding ~1e-16 |f| / h.
        EXPECT_NEAR(gradient[q], numeric[q], 1e-6 * (1 + std::abs(numeric[q])))
            << stats::family_name(family) << " point " << point << " parameter " << q;
      }
      for (size_t q = 0; q < theta.size(); ++q) {
        if (!free[q]) {
          EXPECT_EQ(gradient[q], 0.0);
        }
      }
    }
  }
}

class BayesDensityGpu : public GpuTest {};

TEST_F(BayesDensityGpu, KernelMatchesTheReferenceAndFiniteDifferences) {
  for (ExpertFamily family : kFamilies) {
    stats::HmcProblem problem;
    problem.model = make_model(family);
    const Dataset data = make_data(family, 37);
    problem.data = &data;
    const std::vector<uint8_t> free = stats::default_free_mask(problem.model);
    // The float kernel sees the points rounded to float: the reference is evaluated there too.
    const std::vector<double> positions =
        stats_test::float_points(problem.model, free, kPointSeed, 5, kPointSd);
    const stats::DensityAt gpu = stats::log_posterior_gpu(context(), problem, positions);
    const std::string family_name(stats::family_name(family));
    const std::vector<std::vector<double>> reference = stats_test::expect_kernel_matches_reference(
        gpu, problem.model, data, positions, free, family_name);
    const uint32_t p = problem.model.parameters();
    for (uint32_t point = 0; point < reference.size(); ++point) {
      const std::vector<double> theta(positions.begin() + point * p,
                                      positions.begin() + (point + 1) * p);
      const std::vector<double> numeric =
          stats_test::central_differences(problem.model, data, theta, free);
      double scale = 1;
      for (double g : reference[point]) scale = std::max(scale, std::abs(g));
      for (uint32_t q = 0; q < p; ++q) {
        const double g = gpu.gradient[size_t{point} * p + q];
        EXPECT_NEAR(g, numeric[q], 2e-6 * scale)
            << family_name << " point " << point << " parameter " << q;
        if (!free[q]) {
          EXPECT_EQ(g, 0.0);
        }
      }
    }
  }
}

// Chain groups on their own data sets (HmcProblem::data_sets): three sets of different sizes,
// two chains each at the same point; every chain's density is the reference on its own set.
TEST_F(BayesDensityGpu, ChainGroupsSeeTheirOwnDataSets) {
  stats::HmcProblem problem;
  problem.model = make_model(ExpertFamily::tanh);
  const std::vector<Dataset> sets = {make_data(ExpertFamily::tanh, 37),
                                     make_data(ExpertFamily::tanh, 5),
                                     make_data(ExpertFamily::linear, 80)};
  for (const Dataset& set : sets) problem.data_sets.push_back(&set);
  const std::vector<uint8_t> free = stats::default_free_mask(problem.model);
  std::vector<double> point;
  for (double v : random_point(problem.model, free, 3)) point.push_back(float(v));
  std::vector<double> positions;
  for (int c = 0; c < 6; ++c) positions.insert(positions.end(), point.begin(), point.end());
  const stats::DensityAt gpu = stats::log_posterior_gpu(context(), problem, positions);
  ASSERT_EQ(gpu.log_density.size(), 6u);
  for (uint32_t c = 0; c < 6; ++c) {
    const double value = stats::log_posterior(problem.model, sets[c / 2], point, free);
    EXPECT_NEAR(gpu.log_density[c], value, 1e-6 * (1 + std::abs(value))) << "chain " << c;
  }
  EXPECT_NE(gpu.log_density[0], gpu.log_density[2]);
  // Six chains cannot be split into four equal groups.
  problem.data_sets.push_back(&sets[0]);
  EXPECT_THROW(stats::log_posterior_gpu(context(), problem, positions), std::exception);
}

// Power posteriors: at temperature t the kernel's density is t log L + log prior, with the
// prior alone from the reference on an empty data set.
TEST_F(BayesDensityGpu, TemperatureScalesTheLikelihoodOnly) {
  stats::HmcProblem problem;
  problem.model = make_model(ExpertFamily::sigmoid);
  const Dataset data = make_data(ExpertFamily::sigmoid, 37);
  problem.data = &data;
  const Dataset empty{2, 0, {}};
  const std::vector<uint8_t> free = stats::default_free_mask(problem.model);
  const uint32_t p = problem.model.parameters();
  std::vector<double> point;
  for (double v : random_point(problem.model, free, 4)) point.push_back(float(v));
  problem.temperatures = {0.0, 0.3, 1.0};
  std::vector<double> positions;
  for (int c = 0; c < 3; ++c) positions.insert(positions.end(), point.begin(), point.end());
  const stats::DensityAt gpu = stats::log_posterior_gpu(context(), problem, positions);
  std::vector<double> full_gradient(p), prior_gradient(p);
  const double full = stats::log_posterior(problem.model, data, point, free, full_gradient);
  const double prior = stats::log_posterior(problem.model, empty, point, free, prior_gradient);
  double scale = 1;
  for (double g : full_gradient) scale = std::max(scale, std::abs(g));
  for (uint32_t c = 0; c < 3; ++c) {
    const double t = problem.temperatures[c];
    const double value = t * (full - prior) + prior;
    EXPECT_NEAR(gpu.log_density[c], value, 1e-6 * (1 + std::abs(full))) << "t = " << t;
    for (uint32_t q = 0; q < p; ++q) {
      EXPECT_NEAR(gpu.gradient[size_t{c} * p + q],
                  t * (full_gradient[q] - prior_gradient[q]) + prior_gradient[q], 2e-6 * scale)
          << "t = " << t << " parameter " << q;
    }
  }
  problem.temperatures = {0.5, 1.5, 1.0};
  EXPECT_THROW(stats::log_posterior_gpu(context(), problem, positions), std::exception);
}

}  // namespace
}  // namespace vkmoe::test
