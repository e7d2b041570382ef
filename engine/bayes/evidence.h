// The Laplace approximation of the log marginal likelihood and the prior precision λ that
// maximises it (DESIGN.md "Bayesian-MoE", evidence and λ). For a group of experts sharing λ —
// the whole model, or one layer with `--per-layer`:
//   log p(D|λ) ≈ log p(D|θ*) − ½λ Σ_e‖θ*_e − μ₀‖² + ½ D log λ − ½ Σ_e log det P_e,
// D = Σ_e H·I. In log λ this is unimodal (its derivative −½λ‖θ*−μ₀‖² + ½ Σ c/(c + λ) falls
// with λ), so a golden-section search on a bracket finds the maximum.
#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "engine/bayes/kron_posterior.h"

namespace vkmoe::bayes {

struct EvidenceGroup {
  std::vector<std::span<const KronExpertFactors>> experts;  // e.g. one span per layer
  double log_likelihood = 0;    // log p(D|θ*), summed over the data (constant in λ)
  double squared_distance = 0;  // Σ_e ‖θ*_e − μ₀‖² (kron_posterior.h)
};

double log_evidence(const EvidenceGroup& group, double prior_precision, double temperature);

struct EvidenceSearch {
  double min_lambda = 1e-6, max_lambda = 1e6;  // the bracket, searched in log λ
  double log_tolerance = 1e-8;                 // width in log λ at which the search stops
};

struct EvidenceMaximum {
  double prior_precision = 0;  // λ
  double log_evidence = 0;
  bool at_bracket_edge = false;  // the maximum lies on (within tolerance of) the bracket
};

// Throws BayesError for an empty bracket, a group without experts, or squared_distance = 0 (the
// prior centred on θ*, whose evidence has no maximum; see prior_options.h).
EvidenceMaximum maximise_evidence(const EvidenceGroup& group, double temperature,
                                  const EvidenceSearch& search = {});

// One λ per group (per layer), each searched independently.
std::vector<EvidenceMaximum> maximise_evidence_per_group(std::span<const EvidenceGroup> groups,
                                                         double temperature,
                                                         const EvidenceSearch& search = {});

}  // namespace vkmoe::bayes
