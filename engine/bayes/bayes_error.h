// The one error type of the Bayesian-MoE host mathematics: an argument that does not fit
// (shapes, ranks, non-finite numbers, a prior that has no evidence maximum). The message names
// the function or option at fault and what was expected.
#pragma once

#include <stdexcept>

namespace vkmoe::bayes {

struct BayesError : std::runtime_error {
  using runtime_error::runtime_error;
};

}  // namespace vkmoe::bayes
