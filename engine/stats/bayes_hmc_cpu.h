// The HMC sampler of bayes_hmc.h on one CPU thread, in double, on the C++ reference density
// (bayes_density.h): the baseline `vkmoe bench stats` measures the GPU sampler against, and a
// second implementation of the algorithm (the tests hold both to the same exact posterior).
//
// Same algorithm, step for step: momentum ~ N(0, M) with M^-1 the diagonal inverse metric,
// uniform{1..L} leapfrog steps, Metropolis correction (energy error beyond -1000 or not finite
// is a divergence and rejected), dual averaging of log step during warm-up, one metric window
// over warm-up transitions [15%, 90%) (Welford, Stan's shrinkage toward 1e-3, averaging
// restarted at log(10 eps)), step frozen at its average after warm-up. The random numbers come
// from counter_rng.h rather than Philox, so the draws are not the GPU's, only their law is.
#pragma once

#include "engine/stats/bayes_hmc.h"

namespace vkmoe::stats {

PosteriorDraws sample_posterior_cpu(const HmcProblem& problem, const HmcSettings& settings);

}  // namespace vkmoe::stats
