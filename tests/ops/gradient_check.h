// Finite-difference gradient checks for the backward kernels: a scalar loss of a plain C++
// reference forward in double, differentiated numerically by a central five-point stencil,
// and error measures that compare whole gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <vector>

namespace vkmoe::test {

using Loss = std::function<double(const std::vector<double>&)>;

// d loss / d x by the central five-point stencil
//   (−f(x+2h) + 8 f(x+h) − 8 f(x−h) + f(x−2h)) / 12h,
// whose truncation error is O(h⁴): with h = 1e-3 and a smooth loss of moderate size it agrees
// with the exact derivative to ~1e-11, far below the tolerances the tests use.
inline std::vector<double> numeric_gradient(const Loss& loss, std::vector<double> x,
                                            double h = 1e-3) {
  std::vector<double> gradient(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    const auto at = [&](double offset) {
      x[i] = saved + offset;
      return loss(x);
    };
    gradient[i] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    x[i] = saved;
  }
  return gradient;
}

// The largest difference relative to the largest expected magnitude:
//   max_i |actual_i − expected_i| / max_i |expected_i|
// (a norm-wise relative error: components near zero do not blow it up).
template <typename A>
double max_relative_error(const std::vector<A>& actual, const std::vector<double>& expected) {
  if (actual.size() != expected.size()) return INFINITY;
  double worst = 0, scale = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double difference = std::abs(double(actual[i]) - expected[i]);
    if (!std::isfinite(difference)) return INFINITY;  // a NaN must not hide in the maximum
    worst = std::max(worst, difference);
    scale = std::max(scale, std::abs(expected[i]));
  }
  return scale > 0 ? worst / scale : worst;
}

// Normalised mean squared error of f32 results against a double reference.
inline double nmse_double(const std::vector<float>& actual, const std::vector<double>& expected) {
  if (actual.size() != expected.size()) return INFINITY;
  double error = 0, norm = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double d = double(actual[i]) - expected[i];
    error += d * d;
    norm += expected[i] * expected[i];
  }
  return norm > 0 ? error / norm : error;
}

// Double copies of f32 data (inputs the kernels see, given to the double references).
inline std::vector<double> to_double(const std::vector<float>& values) {
  return {values.begin(), values.end()};
}
inline std::vector<float> to_float(const std::vector<double>& values) {
  std::vector<float> out(values.size());
  std::transform(values.begin(), values.end(), out.begin(),
                 [](double v) { return static_cast<float>(v); });
  return out;
}

// Σ_i r_i · y_i: the scalar loss whose gradient with respect to y is r.
inline double project(const std::vector<double>& y, const std::vector<double>& r) {
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += y[i] * r[i];
  return sum;
}

}  // namespace vkmoe::test
