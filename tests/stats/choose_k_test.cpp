// Choosing K by its posterior (choose_k.h): the truncated priors against their closed forms,
// the posterior arithmetic, and on well-separated data from k* = 2 sigmoid experts the
// evidence-based posterior puts its mode on K = 2.
#include <cmath>

#include "engine/stats/choose_k.h"
#include "engine/stats/simulate.h"
#include "tests/stats/well_separated_spec.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

TEST(ChooseK, TruncatedPriorsMatchTheirClosedForms) {
  // Poisson(2) on {1, 2, 3}: weights 2, 2, 4/3 over their sum 16/3.
  const std::vector<double> poisson = stats::log_k_prior({stats::KPriorKind::poisson, 2.0, 3});
  const double poisson_expected[] = {2 / (16.0 / 3), 2 / (16.0 / 3), (4.0 / 3) / (16.0 / 3)};
  // Geometric(0.5) on {1, 2, 3}: 1/2, 1/4, 1/8 over 7/8.
  const std::vector<double> geometric = stats::log_k_prior({stats::KPriorKind::geometric, 0.5, 3});
  const double geometric_expected[] = {4 / 7.0, 2 / 7.0, 1 / 7.0};
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(std::exp(poisson[k]), poisson_expected[k], 1e-14);
    EXPECT_NEAR(std::exp(geometric[k]), geometric_expected[k], 1e-14);
  }
  EXPECT_THROW(stats::log_k_prior({stats::KPriorKind::geometric, 1.0, 3}), std::exception);
  EXPECT_THROW(stats::log_k_prior({stats::KPriorKind::poisson, 1.0, 0}), std::exception);
  EXPECT_THROW(stats::parse_k_prior("uniform"), std::exception);
}

TEST(ChooseK, PosteriorIsPriorTimesEvidenceNormalised) {
  // Geometric(0.5) on {1, 2}: prior 2/3, 1/3; evidences e^-10 and e^-9.
  const stats::KPosterior post =
      stats::k_posterior({stats::KPriorKind::geometric, 0.5, 2}, {-10.0, -9.0}, {0.1, 0.1});
  const double a = 2.0 / 3 * std::exp(-10.0), b = 1.0 / 3 * std::exp(-9.0);
  EXPECT_NEAR(post.probability[0], a / (a + b), 1e-14);
  EXPECT_NEAR(post.probability[1], b / (a + b), 1e-14);
  EXPECT_EQ(post.map_k, 2u);  // e/2 > 1
}

class ChooseKGpu : public GpuTest {};

TEST_F(ChooseKGpu, EvidencePicksKStarOnWellSeparatedData) {
  // Two experts explain the data far better than one, and a third only costs its prior volume.
  const stats::RegressionSpec spec = stats_test::well_separated_sigmoid_spec();
  const stats::Dataset data = stats::simulate_mixture(spec, 150, 0, 2);
  stats::EvidenceSettings settings;
  settings.temperatures = 12;
  settings.hmc.chains = 2;
  settings.hmc.warmup = 150;
  settings.hmc.draws = 150;
  settings.hmc.seed = 5;
  const stats::KPrior prior{stats::KPriorKind::poisson, 1.0, 3};
  const stats::KPosterior post =
      stats::choose_k_by_evidence(context(), spec, data, {}, prior, settings);
  EXPECT_EQ(post.map_k, 2u) << "log evidences " << post.log_evidence[0] << " "
                            << post.log_evidence[1] << " " << post.log_evidence[2];
  EXPECT_GT(post.probability[1], 0.5);
  // One expert cannot fit two sigmoids 0.05 apart in noise: decisively worse.
  EXPECT_LT(post.log_evidence[0], post.log_evidence[1] - 50);
}

}  // namespace
}  // namespace vkmoe::test
