// R-hat and ESS on synthetic arrays: a split-R-hat computed by hand, values from the numpy
// reference tests/reference/mcmc_diagnostics.py (written from the `posterior` R package,
// autocovariances by FFT), and the ESS of AR(1) chains against its closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/stats/counter_rng.h"
#include "engine/stats/mcmc_diagnostics.h"

namespace vkmoe::test {
namespace {

// Chain-major draws x[c][t] = sin(0.7 t^2 + 1.9 c) + 0.3 sin(0.05 t) + shift * c (the formula
// of mcmc_diagnostics.py's synthetic()).
std::vector<double> synthetic(uint32_t chains, uint32_t draws, double shift) {
  std::vector<double> x;
  for (uint32_t c = 0; c < chains; ++c) {
    for (uint32_t t = 0; t < draws; ++t) {
      const double td = t;
      x.push_back(std::sin(0.7 * td * td + 1.9 * c) + 0.3 * std::sin(0.05 * td) + shift * c);
    }
  }
  return x;
}

TEST(McmcDiagnostics, SplitRhatMatchesAHandComputedValue) {
  // Chains [1 3 1 3] and [5 7 5 7] split into [1 3], [1 3], [5 7], [5 7]: n = 2, W = 2,
  // chain means 2 2 6 6 (variance 16/3, B = 32/3); ((n-1)/n W + B/n) / W = (1 + 16/3) / 2.
  const std::vector<double> draws = {1, 3, 1, 3, 5, 7, 5, 7};
  EXPECT_NEAR(stats::split_rhat_basic(draws, 2), std::sqrt(19.0 / 6.0), 1e-12);
  EXPECT_GT(stats::rank_normalized_rhat(draws, 2), 1.1);
  // numpy reference (ties take their average rank).
  EXPECT_NEAR(stats::rank_normalized_rhat(draws, 2), 1.618658569695, 1e-9);
}

TEST(McmcDiagnostics, RankNormalisedRhatAndBulkEssMatchTheNumpyReference) {
  // Odd draw count: the middle draw of each chain is dropped by the split.
  const std::vector<double> mixed = synthetic(4, 101, 0.0);
  EXPECT_NEAR(stats::rank_normalized_rhat(mixed, 4), 1.047249989736, 1e-9);
  EXPECT_NEAR(stats::bulk_ess(mixed, 4), 69.5044522546, 1e-7);
  EXPECT_NEAR(stats::split_rhat_basic(mixed, 4), 1.031813750623, 1e-9);
  EXPECT_NEAR(stats::basic_ess(mixed, 4), 110.9205067546, 1e-7);

  const std::vector<double> apart = synthetic(4, 101, 0.5);
  EXPECT_NEAR(stats::rank_normalized_rhat(apart, 4), 1.308783566450, 1e-9);
  EXPECT_NEAR(stats::bulk_ess(apart, 4), 10.9225799014, 1e-7);
  EXPECT_NEAR(stats::basic_ess(apart, 4), 11.1690275611, 1e-7);
  EXPECT_GT(stats::rank_normalized_rhat(apart, 4), 1.1);  // not mixed: flagged
}

TEST(McmcDiagnostics, IndependentDrawsHaveRhatNearOneAndFullEss) {
  const stats::CounterRng rng(3, 7);
  std::vector<double> draws(4 * 1000);
  for (size_t i = 0; i < draws.size(); ++i) draws[i] = rng.normal(i);
  EXPECT_LT(stats::rank_normalized_rhat(draws, 4), 1.01);
  // ESS of 4000 independent draws: sd of the estimate is about sqrt(2 * 4000) ~ 90.
  EXPECT_NEAR(stats::bulk_ess(draws, 4), 4000.0, 400.0);
}

TEST(McmcDiagnostics, Ar1EssIsCloseToItsClosedForm) {
  // x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t: ESS / N = (1 - rho) / (1 + rho) = 1/3 at rho = 0.5.
  const double rho = 0.5;
  const uint32_t chains = 4, n = 5000;
  const stats::CounterRng rng(11, 2);
  std::vector<double> draws;
  for (uint32_t c = 0; c < chains; ++c) {
    double x = rng.normal(uint64_t{c} * n);
    for (uint32_t t = 0; t < n; ++t) {
      x = rho * x + std::sqrt(1 - rho * rho) * rng.normal(uint64_t{c} * n + t + 1);
      draws.push_back(x);
    }
  }
  const double expected = chains * n * (1 - rho) / (1 + rho);
  EXPECT_NEAR(stats::basic_ess(draws, chains) / expected, 1.0, 0.15);
  EXPECT_NEAR(stats::bulk_ess(draws, chains) / expected, 1.0, 0.15);
}

TEST(McmcDiagnostics, RanksAndNormalQuantiles) {
  const std::vector<double> values = {3, 1, 3, 2};
  const std::vector<double> ranks = stats::average_ranks(values);
  EXPECT_EQ(ranks, (std::vector<double>{3.5, 1, 3.5, 2}));
  EXPECT_NEAR(stats::normal_quantile(0.975), 1.959963984540054, 1e-13);
  EXPECT_NEAR(stats::normal_quantile(0.001), -3.090232306167813, 1e-13);
  EXPECT_NEAR(stats::normal_quantile(0.5), 0.0, 1e-15);
  EXPECT_THROW(stats::normal_quantile(1.0), std::exception);
}

TEST(McmcDiagnostics, RejectsRaggedOrTooShortChains) {
  EXPECT_THROW(stats::bulk_ess(std::vector<double>(7, 0.0), 2), std::exception);
  EXPECT_THROW(stats::rank_normalized_rhat(std::vector<double>(6, 0.0), 2), std::exception);
}

}  // namespace
}  // namespace vkmoe::test
