#include "engine/bayes/validation_prior_precision.h"

#include <cmath>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

std::vector<double> log_grid(double min, double max, std::int64_t count) {
  if (!(min > 0) || !(max > min) || !std::isfinite(max) || count < 2) {
    throw BayesError("log_grid: [" + std::to_string(min) + ", " + std::to_string(max) + "] with " +
                     std::to_string(count) + " points; expected 0 < min < max < ∞, ≥ 2 points");
  }
  std::vector<double> grid;
  const double lo = std::log(min), step = (std::log(max) - lo) / static_cast<double>(count - 1);
  for (std::int64_t k = 0; k < count; ++k)
    grid.push_back(std::exp(lo + step * static_cast<double>(k)));
  grid.front() = min;  // exact ends, whatever exp(log(x)) rounds to
  grid.back() = max;
  return grid;
}

ValidationChoice choose_by_validation(const std::vector<double>& grid,
                                      const std::function<double(double)>& nll) {
  if (grid.empty()) throw BayesError("choose_by_validation: empty λ grid");
  ValidationChoice out;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    const double value = nll(grid[k]);
    if (std::isnan(value)) {
      throw BayesError("choose_by_validation: the NLL at λ = " + std::to_string(grid[k]) +
                       " is NaN");
    }
    out.nll_per_lambda.push_back(value);
    if (k == 0 || value < out.nll || (value == out.nll && grid[k] > out.prior_precision)) {
      out.prior_precision = grid[k];
      out.nll = value;
    }
  }
  return out;
}

}  // namespace vkmoe::bayes
