// The log posterior density of a Bayesian MoE (bayes_model.h) and its gradient, in double on
// one CPU thread: the reference the GPU kernel (shaders/stats_hmc.comp) is tested against.
//   log p(theta | data) = sum_s log sum_i pi_i(x_s) N(y_s | h_i(x_s), exp(v_i))
//                         + log prior(theta) + const,
// with the normalising constants of the Gaussian likelihood and of all priors included, so
// the value is the log of a properly normalised joint density p(data, theta) (in the v
// parametrisation), up to the prior terms of fixed parameters (mask 0), which are constants
// and left out. Fixed parameters get gradient 0.
#pragma once

#include <cstdint>
#include <span>

#include "engine/stats/bayes_model.h"
#include "engine/stats/simulate.h"

namespace vkmoe::stats {

// Returns log p(data, theta); writes d/dtheta to `gradient` (same size as theta) when given.
double log_posterior(const BayesMoe& model, const Dataset& data, std::span<const double> theta,
                     std::span<const uint8_t> free, std::span<double> gradient = {});

}  // namespace vkmoe::stats
