// Rate series from fit records: mean and median over replications, and their slopes, on
// records made by hand (no fitting).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/stats/rate_study.h"

namespace vkmoe::stats {
namespace {

// Replications whose function error follows 2·n^{-1/2}, except one replication per size that
// sits in a far basin (a constant error of 1): the mean is pulled towards a flat line, the
// median is not.
std::vector<LseFitRecord> records_with_one_outlier(uint32_t replications) {
  std::vector<LseFitRecord> records;
  for (uint32_t n : log_grid(1000, 100000, 8)) {
    for (uint32_t r = 0; r < replications; ++r) {
      LseFitRecord record;
      record.samples = n;
      record.replication = r;
      record.function_error = r == 0 ? 1.0 : 2.0 / std::sqrt(double(n)) * (1.0 + 0.01 * r);
      record.loss.exact = record.function_error;
      records.push_back(record);
    }
  }
  return records;
}

const RateSeries& find(const std::vector<RateSeries>& all, const std::string& name) {
  for (const RateSeries& s : all) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no series " + name);
}

TEST(RateSeries, MedianIgnoresOneFarReplication) {
  const std::vector<RateSeries> all = rate_series(records_with_one_outlier(5), ExpertFamily::tanh);
  const RateSeries& error = find(all, "function_l2_error");
  ASSERT_EQ(error.samples.size(), 8u);
  // Sorted: 2n^{-1/2}·{1.01, 1.02, 1.03, 1.04}, 1 → the median is 2n^{-1/2}·1.03, an exact
  // power law.
  EXPECT_NEAR(error.median_fit.slope, -0.5, 1e-6);
  for (std::size_t i = 0; i < error.samples.size(); ++i) {
    EXPECT_NEAR(error.median[i], 2.06 / std::sqrt(error.samples[i]), 1e-12);
  }
  // The mean carries the outlier's 1/5 at every n: far flatter than -1/2.
  EXPECT_GT(error.fit.slope, -0.1);
}

TEST(RateSeries, EvenReplicationsAverageTheMiddlePair) {
  const std::vector<RateSeries> all = rate_series(records_with_one_outlier(4), ExpertFamily::tanh);
  const RateSeries& error = find(all, "function_l2_error");
  // Sorted: 2n^{-1/2}·{1.01, 1.02, 1.03}, 1 → the median is 2n^{-1/2}·1.025.
  EXPECT_NEAR(error.median[0], 2.05 / std::sqrt(error.samples[0]), 1e-12);
}

// No over-fitted cell anywhere (k = k*): that series has no positive mean and is left out.
TEST(RateSeries, LeavesOutSeriesWithoutPositiveMeans) {
  const std::vector<RateSeries> all = rate_series(records_with_one_outlier(3), ExpertFamily::tanh);
  for (const RateSeries& s : all) EXPECT_NE(s.name, "overfit_atom_error");
}

}  // namespace
}  // namespace vkmoe::stats
