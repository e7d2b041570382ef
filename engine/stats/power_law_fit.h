// Fitting y = C n^slope by least squares on (log n, log y), with a 95% confidence interval for
// the slope from the t distribution with (points - 2) degrees of freedom.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkmoe::stats {

struct PowerLawFit {
  double slope = 0;
  double intercept = 0;  // log C (natural log)
  double slope_standard_error = 0;
  double slope_low = 0;  // 95% interval
  double slope_high = 0;
  uint32_t points = 0;

  double predict(double n) const;
};

// Needs at least 3 points with distinct n, all n and y positive (throws Error otherwise).
PowerLawFit fit_power_law(std::span<const double> n, std::span<const double> y);

// Upper (1 + level)/2 quantile of Student's t with `degrees` degrees of freedom (level 0.95 gives
// the two-sided 95% critical value).
double student_t_critical(double level, uint32_t degrees);

// `points` sample sizes spaced evenly in log between `low` and `high`, rounded, distinct.
std::vector<uint32_t> log_grid(uint32_t low, uint32_t high, uint32_t points);

}  // namespace vkmoe::stats
