// Convergence diagnostics of MCMC draws, one parameter at a time, as defined by Vehtari,
// Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and localization:
// an improved R-hat for assessing convergence of MCMC" (Bayesian Analysis 16(2)), and computed
// as the `posterior` R package (and Stan, ArviZ) compute them:
//   - chains are split in halves (an odd draw in the middle is dropped);
//   - rank normalisation: z = Phi^-1((r - 3/8) / (S + 1/4)), r the average rank among all S draws;
//   - R-hat = max(split-R-hat of the rank-normalised draws, split-R-hat of the rank-normalised
//     folded draws |x - median|);
//   - bulk ESS = the effective sample size of the rank-normalised split chains, with Geyer's
//     initial monotone sequence over the chains' mean autocorrelations.
// `draws` holds one parameter, chain-major: chains * (draws / chain) values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkmoe::stats {

// The classic split-R-hat (Gelman et al., BDA3, eq. 11.4) of the draws as they are:
// sqrt(((n-1)/n W + B/n) / W) over the split chains.
double split_rhat_basic(std::span<const double> draws, uint32_t chains);

// Vehtari et al.'s R-hat (see above). 1 when all draws are equal.
double rank_normalized_rhat(std::span<const double> draws, uint32_t chains);

// Bulk effective sample size (see above).
double bulk_ess(std::span<const double> draws, uint32_t chains);

// Effective sample size of the draws as they are (split chains, no rank normalisation): what
// the mean's Monte Carlo error sd / sqrt(ESS) uses.
double basic_ess(std::span<const double> draws, uint32_t chains);

// Helpers the tests also check. Average ranks (1-based) of the values.
std::vector<double> average_ranks(std::span<const double> values);
// Phi^-1 of a probability in (0, 1) (Acklam's rational approximation refined by one Halley
// step; relative error below 1e-15).
double normal_quantile(double probability);

}  // namespace vkmoe::stats
