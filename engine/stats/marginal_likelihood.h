// The log marginal likelihood (evidence) log p(data | K) of a Bayesian MoE by thermodynamic
// integration over power posteriors p_t(theta) ∝ L(theta)^t prior(theta) (Friel & Pettitt 2008):
//   log p(data) = integral_0^1 E_t[log L(theta)] dt.
// The ladder t_j = (j / (J - 1))^power, j = 0..J-1 (power 5 puts most rungs near t = 0, where
// E_t changes fastest), every rung a group of HMC chains in one GPU run (HmcProblem::
// temperatures). The integral is the trapezoid rule with the correction of Friel, Hurn & Wyse
// (2014), which uses d/dt E_t[log L] = Var_t[log L]:
//   sum_j (t_{j+1} - t_j) (E_j + E_{j+1}) / 2 - (t_{j+1} - t_j)^2 (V_{j+1} - V_j) / 12.
// log L is evaluated on the host in double by the reference (bayes_density.h, with every
// parameter masked out only the likelihood remains), so the density's normalising constants
// are all in it. The prior must be proper in every free parameter (it is: Gaussian and
// inverse-gamma).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

struct EvidenceSettings {
  uint32_t temperatures = 24;  // J rungs, including t = 0 and t = 1
  double power = 5.0;
  HmcSettings hmc;  // its `chains` is per rung
};

struct EvidenceEstimate {
  double log_evidence = 0;
  // Monte Carlo standard error: sqrt(sum_j w_j^2 V_j / ESS_j) with w_j the trapezoid weights
  // and ESS_j the bulk ESS of the rung's log L draws (the discretisation error is not in it).
  double standard_error = 0;
  std::vector<double> temperature, mean_log_likelihood, variance_log_likelihood, ess;
};

// problem.data (one data set); problem.temperatures is set here.
EvidenceEstimate log_evidence_ti(vk::Context& context, const HmcProblem& problem,
                                 const EvidenceSettings& settings);

// The ladder t_j above.
std::vector<double> temperature_ladder(uint32_t rungs, double power);

// The corrected trapezoid rule above, on given rung means and variances.
double thermodynamic_integral(const std::vector<double>& t, const std::vector<double>& mean,
                              const std::vector<double>& variance);

}  // namespace vkmoe::stats
