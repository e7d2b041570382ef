// Slope fitting on synthetic power laws, and the t quantiles behind its intervals.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/stats/counter_rng.h"
#include "engine/stats/power_law_fit.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {
namespace {

TEST(PowerLawFit, RecoversAnExactPowerLaw) {
  std::vector<double> n, y;
  for (uint32_t m : log_grid(1000, 100000, 10)) {
    n.push_back(m);
    y.push_back(3.0 * std::pow(m, -0.5));
  }
  const PowerLawFit fit = fit_power_law(n, y);
  EXPECT_NEAR(fit.slope, -0.5, 1e-6);  // the grid is rounded to integers, y is exact
  EXPECT_NEAR(std::exp(fit.intercept), 3.0, 1e-4);
  EXPECT_LT(fit.slope_high - fit.slope_low, 1e-6);
  EXPECT_NEAR(fit.predict(4000.0), 3.0 / std::sqrt(4000.0), 1e-9);
}

// Multiplicative log-normal noise: the 95% interval covers the true slope in about 95% of
// repeated experiments (checked over 400 of them: between 90% and 99%).
TEST(PowerLawFit, IntervalsCoverTheTrueSlope) {
  const std::vector<uint32_t> grid = log_grid(1000, 100000, 10);
  int covered = 0;
  const int experiments = 400;
  for (int e = 0; e < experiments; ++e) {
    const CounterRng rng(42, static_cast<uint64_t>(e));
    std::vector<double> n, y;
    for (size_t i = 0; i < grid.size(); ++i) {
      n.push_back(grid[i]);
      y.push_back(0.7 * std::pow(grid[i], -0.25) * std::exp(0.2 * rng.normal(i)));
    }
    const PowerLawFit fit = fit_power_law(n, y);
    covered += fit.slope_low <= -0.25 && -0.25 <= fit.slope_high ? 1 : 0;
  }
  EXPECT_GE(covered, 360);
  EXPECT_LE(covered, 396);
}

TEST(PowerLawFit, StudentTQuantilesMatchTables) {
  EXPECT_NEAR(student_t_critical(0.95, 1), 12.706, 1e-3);
  EXPECT_NEAR(student_t_critical(0.95, 8), 2.306, 1e-3);
  EXPECT_NEAR(student_t_critical(0.95, 18), 2.101, 1e-3);
  EXPECT_NEAR(student_t_critical(0.95, 1000), 1.962, 1e-3);
  EXPECT_NEAR(student_t_critical(0.99, 5), 4.032, 1e-3);
}

TEST(PowerLawFit, RejectsBadInput) {
  const std::vector<double> n = {10, 100, 1000}, zero = {1, 0, 1}, two = {1, 2};
  EXPECT_THROW(fit_power_law(n, zero), Error);
  EXPECT_THROW(fit_power_law(two, two), Error);
  EXPECT_THROW(fit_power_law(std::vector<double>{5, 5, 5}, std::vector<double>{1, 2, 3}), Error);
}

TEST(LogGrid, SpansTheRangeEvenlyInLog) {
  const std::vector<uint32_t> grid = log_grid(1000, 100000, 5);
  EXPECT_EQ(grid, (std::vector<uint32_t>{1000, 3162, 10000, 31623, 100000}));
  EXPECT_EQ(log_grid(3, 4, 10), (std::vector<uint32_t>{3, 4}));
}

}  // namespace
}  // namespace vkmoe::stats
