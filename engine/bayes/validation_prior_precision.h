// `--prior-precision val`: λ from a log-spaced grid by the NLL of the Bayesian predictive on a
// validation file (DESIGN.md "Bayesian-MoE", evidence and λ). The predictive itself runs
// elsewhere (it needs the model); here are the grid and the choice.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace vkmoe::bayes {

// `count` values from `min` to `max` (both included), equally spaced in log λ. Throws
// BayesError unless 0 < min < max < ∞ and count ≥ 2.
std::vector<double> log_grid(double min, double max, std::int64_t count);

struct ValidationChoice {
  double prior_precision = 0;
  double nll = 0;
  std::vector<double> nll_per_lambda;  // aligned with the grid, for the log
};

// Evaluates `nll(λ)` at every grid point and keeps the smallest; ties go to the larger λ (the
// posterior closer to the MAP). Throws BayesError for an empty grid or a NaN NLL.
ValidationChoice choose_by_validation(const std::vector<double>& grid,
                                      const std::function<double(double)>& nll);

}  // namespace vkmoe::bayes
