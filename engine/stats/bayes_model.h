// The Bayesian softmax-gated Gaussian mixture of experts
//   p(y | x, theta) = sum_i softmax_i(beta1_i . x + beta0_i) N(y | h(x, eta_i), sigma_i^2)
// with priors beta1, beta0 ~ N(0, gate_sd^2), a, b ~ N(0, expert_sd^2) (eta_i = (a_i, b_i),
// expert families of moe_model.h) and sigma_i^2 ~ InvGamma(shape, scale). The sampler works on
// v_i = log sigma_i^2, whose prior density carries the Jacobian sigma_i^2:
//   log p(v) = const - shape v - scale exp(-v).
// The last atom's gate (beta1, beta0) is fixed at zero: softmax is invariant under a common
// translation of the gates, and without the constraint the posterior is improper along it.
//
// Flat layout (double on the host, float on the GPU), per atom: [beta1 (d), beta0, a (d), b, v].
// A parameter may be held fixed at its starting value (`free` = 0): the last gate always, and
// any other (a known sigma^2 in the conjugate test, for instance).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/stats/moe_model.h"
#include "engine/stats/simulate.h"

namespace vkmoe::stats {

struct BayesPrior {
  double gate_sd = 5.0;       // beta1, beta0
  double expert_sd = 5.0;     // a, b
  double noise_shape = 2.0;   // inverse-gamma shape alpha of sigma^2
  double noise_scale = 0.01;  // inverse-gamma scale beta of sigma^2 (mean beta / (alpha - 1))
  // 0: beta0 ~ N(0, gate_sd^2) like the other gate parameters. alpha > 0: the sparsity prior of
  // strategy (b) for choosing K (an over-fitted K-bar, then merge_truncate_merge.h): the mixing
  // weights at the reference point x = 0, pi = softmax(beta0), are Dirichlet(alpha, ..., alpha),
  // which in beta0 (last fixed at 0; the Jacobian of softmax is prod pi_i) is the density
  //   log p(beta0) = lgamma(K alpha) - K lgamma(alpha) + alpha sum_i log pi_i,
  //   d/dbeta0_j = alpha (1 - K pi_j).
  // Why this one: it is proper with a closed-form normaliser (so the thermodynamic-integration
  // evidence stays valid under it), smooth for HMC, and with alpha < 1 (below d/2 of Rousseau
  // & Mengersen 2011) the posterior of an over-fitted mixture empties the extra atoms: in beta0
  // its tail is only exp(alpha beta0), so a superfluous atom's weight can drift toward 0 at
  // almost no prior cost, where a N(0, gate_sd^2) prior would pull it back to pi ~ 1/K. X is
  // drawn on a box around 0, so the weights at x = 0 speak for the weights over the data.
  // It is applied when any gate bias is free (with every parameter fixed, as the evidence's
  // likelihood-only evaluations do, it is left out like every other prior term).
  double weight_concentration = 0;
};

struct BayesMoe {
  ExpertFamily family = ExpertFamily::sigmoid;
  uint32_t degree = 1;  // polynomial experts only
  uint32_t dimension = 1;
  uint32_t experts = 1;
  BayesPrior prior;

  uint32_t stride() const { return 2 * dimension + 3; }
  uint32_t parameters() const { return experts * stride(); }
  // Offsets inside atom i.
  uint32_t gate_slope(uint32_t i) const { return i * stride(); }
  uint32_t gate_bias(uint32_t i) const { return i * stride() + dimension; }
  uint32_t expert_slope(uint32_t i) const { return i * stride() + dimension + 1; }
  uint32_t expert_bias(uint32_t i) const { return i * stride() + 2 * dimension + 1; }
  uint32_t log_variance(uint32_t i) const { return i * stride() + 2 * dimension + 2; }
};

// Throws Error naming the first value out of range (experts, dimension, prior).
void validate_model(const BayesMoe& model);

// 1 for every sampled parameter, 0 for the last atom's gate.
std::vector<uint8_t> default_free_mask(const BayesMoe& model);

// "beta1[i][j]", "beta0[i]", "a[i][j]", "b[i]", "log_sigma2[i]" (0-based), in layout order.
std::vector<std::string> parameter_names(const BayesMoe& model);

// A model of the spec's expert family and dimension with `experts` atoms (0: the spec's k*).
BayesMoe model_for_spec(const RegressionSpec& spec, uint32_t experts, const BayesPrior& prior);

// The spec's truth in the sampler's layout (model.experts must be the spec's k*): log sigma^2
// from its noise_sigma for every atom, gates translated so that the last one is zero.
std::vector<double> truth_parameters(const BayesMoe& model, const RegressionSpec& spec);

// The regression atoms (without the variances) of one flat parameter vector.
MoeModel regression_atoms(const BayesMoe& model, std::span<const double> theta);

}  // namespace vkmoe::stats
