#include "engine/stats/power_law_fit.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// Standard normal CDF and its inverse by Newton's method on erfc (accurate to ~1e-12).
double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

double normal_quantile(double p) {
  double x = 0;
  for (int i = 0; i < 60; ++i) {
    const double density = std::exp(-0.5 * x * x) / std::sqrt(2.0 * 3.14159265358979323846);
    const double step = (normal_cdf(x) - p) / density;
    x -= step;
    if (std::abs(step) < 1e-14) break;
  }
  return x;
}

// Regularised incomplete beta I_x(a, b) by its continued fraction (Lentz's method).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1.0 - incomplete_beta(b, a, 1.0 - x);
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x)) /
                       a;
  const double tiny = 1e-300;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1);
  if (std::abs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m < 300; ++m) {
    for (int half = 0; half < 2; ++half) {
      const double numerator = half == 0
                                   ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                   : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1.0 + numerator * d;
      if (std::abs(d) < tiny) d = tiny;
      c = 1.0 + numerator / c;
      if (std::abs(c) < tiny) c = tiny;
      d = 1.0 / d;
      f *= c * d;
    }
    if (std::abs(c * d - 1.0) < 1e-15) break;
  }
  return front * f;
}

double student_t_cdf(double t, double degrees) {
  const double tail = 0.5 * incomplete_beta(degrees / 2, 0.5, degrees / (degrees + t * t));
  return t >= 0 ? 1.0 - tail : tail;
}

}  // namespace

double student_t_critical(double level, uint32_t degrees) {
  if (degrees == 0) throw Error("student_t_critical: 0 degrees of freedom");
  const double p = 0.5 * (1.0 + level);
  // Bisection on the CDF, bracketed above by a generous multiple of the normal quantile.
  double low = 0, high = std::max(10.0, 1000.0 * normal_quantile(p));
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (low + high);
    (student_t_cdf(mid, degrees) < p ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

double PowerLawFit::predict(double n) const {
  return std::exp(intercept + slope * std::log(n));
}

PowerLawFit fit_power_law(std::span<const double> n, std::span<const double> y) {
  if (n.size() != y.size()) throw Error("fit_power_law: n and y differ in length");
  if (n.size() < 3) throw Error("fit_power_law: needs at least 3 points");
  const size_t m = n.size();
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < m; ++i) {
    if (!(n[i] > 0) || !(y[i] > 0)) {
      throw Error("fit_power_law: point " + std::to_string(i) + " is not positive (n " +
                  std::to_string(n[i]) + ", y " + std::to_string(y[i]) + ")");
    }
    mean_x += std::log(n[i]);
    mean_y += std::log(y[i]);
  }
  mean_x /= static_cast<double>(m);
  mean_y /= static_cast<double>(m);
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < m; ++i) {
    const double dx = std::log(n[i]) - mean_x;
    sxx += dx * dx;
    sxy += dx * (std::log(y[i]) - mean_y);
  }
  if (sxx == 0) throw Error("fit_power_law: all n are equal");
  PowerLawFit fit;
  fit.points = static_cast<uint32_t>(m);
  fit.slope = sxy / sxx;
  fit.intercept = mean_y - fit.slope * mean_x;
  double residual = 0;
  for (size_t i = 0; i < m; ++i) {
    const double e = std::log(y[i]) - (fit.intercept + fit.slope * std::log(n[i]));
    residual += e * e;
  }
  const uint32_t degrees = static_cast<uint32_t>(m - 2);
  fit.slope_standard_error = std::sqrt(residual / degrees / sxx);
  const double half_width = student_t_critical(0.95, degrees) * fit.slope_standard_error;
  fit.slope_low = fit.slope - half_width;
  fit.slope_high = fit.slope + half_width;
  return fit;
}

std::vector<uint32_t> log_grid(uint32_t low, uint32_t high, uint32_t points) {
  if (low == 0 || high < low) throw Error("log_grid: need 0 < low <= high");
  if (points == 0) throw Error("log_grid: 0 points");
  std::vector<uint32_t> grid;
  for (uint32_t i = 0; i < points; ++i) {
    const double t = points == 1 ? 0.0 : static_cast<double>(i) / (points - 1);
    const double value = std::exp(std::log(low) + t * (std::log(high) - std::log(low)));
    const uint32_t n = static_cast<uint32_t>(std::lround(value));
    if (grid.empty() || n != grid.back()) grid.push_back(n);
  }
  return grid;
}

}  // namespace vkmoe::stats
