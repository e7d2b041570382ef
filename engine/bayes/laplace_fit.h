// `vkmoe laplace fit` as a library call (DESIGN.md "Bayesian-MoE"; issue 6 points 2 and 7):
// KFAC curvature over the training examples (kfac.h), checkpoints every N examples and resume,
// then the prior precision (evidence, or a number), the temperature, and the posterior file
// (posterior_file.h), written atomically.
//
// Bit-for-bit resume: the low-rank streams are folded after every `fold_every` examples counted
// from the start of the data set (and once at its end), whatever the checkpoints, so a fit that
// stops at a checkpoint and resumes merges the same chunks in the same order as one that never
// stopped (merges the row budget adds depend only on the examples since the last fold). Checkpoints
// are therefore written only at fold points: checkpoint_every must be a multiple of fold_every.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "engine/bayes/evidence.h"
#include "engine/bayes/fisher_type.h"
#include "engine/bayes/kfac.h"
#include "engine/bayes/posterior_file.h"
#include "engine/bayes/prior_options.h"
#include "engine/bayes/validation_prior_precision.h"
#include "engine/model/model_weights.h"

namespace vkmoe::bayes {

// One training item as the fit reads it: the prompt, the C answer-label tokens scored after it,
// and the true answer.
struct FitExample {
  std::vector<uint32_t> prompt;
  std::vector<uint32_t> answers;
  std::int64_t label = 0;
};

// FNV-1a 64 over every example's tokens and label: a checkpoint of other data is refused.
std::uint64_t fit_data_fingerprint(std::span<const FitExample> examples);

// λ from 1e-4 to 1e4, two points per decade.
inline constexpr double kValidationGridMin = 1e-4, kValidationGridMax = 1e4;
inline constexpr std::int64_t kValidationGridPoints = 17;

struct LaplaceFitOptions {
  std::vector<std::int64_t> layers;  // treated MoE layers (layer_selection.h)
  std::int64_t rank = 32;
  FisherType fisher = FisherType::kExact;
  PriorMean prior_mean = PriorMean::kZero;
  PriorPrecisionOption prior_precision;
  bool per_layer = false;  // one λ per layer (evidence)
  double temperature = 1.0;
  std::uint64_t seed = 0;        // mc label draws
  std::int64_t fold_every = 64;  // examples per merge of the gathered rows into the factors
  // Device memory for the rows gathered between merges and for one group of experts' Grams
  // (kfac.h); the row budget can add merges inside a fold interval, so a checkpoint records it.
  KfacBudget kfac_budget;
  std::int64_t checkpoint_every = 0;  // 0: no checkpoints
  std::filesystem::path output;       // the posterior file
  bool resume = false;                // continue from checkpoint_path(output) when it exists
  // --prior-precision val: the validation examples; λ is chosen on kValidationGrid by the NLL of
  // the GLM predictive (glm_validation.h, Monte Carlo over logits with a fixed seed).
  std::vector<FitExample> validation;
  // Test hook: return, incomplete, after example stop_after − 1 (and its checkpoint, if any);
  // 0: run to the end.
  std::int64_t stop_after = 0;
};

// Where the checkpoints of a fit writing `output` go: beside it, "<output>.checkpoint".
std::filesystem::path checkpoint_path(const std::filesystem::path& output);

// Throws BayesError for an option the fit refuses, naming it and why: evidence with the prior
// centred on θ* (prior_options.h), val without validation examples or with --per-layer,
// rank < 1, T ≤ 0, fold_every < 1, checkpoint_every not a multiple of it.
void check_laplace_fit_options(const LaplaceFitOptions& options);

struct FitProgress {
  std::int64_t done = 0, total = 0;
  std::int64_t resumed_at = 0;  // examples a checkpoint already held
  double examples_per_second = 0, eta_seconds = 0;
};

struct LaplaceFitResult {
  bool complete = false;  // false: stopped by stop_after, no posterior written
  std::int64_t resumed_at = 0;
  double log_likelihood = 0;  // Σ log p(label) under the model
  Posterior posterior;
  std::vector<EvidenceMaximum> evidence;  // --prior-precision evidence: the maxima found
  ValidationChoice validation;            // --prior-precision val: the grid's NLLs
};

// Throws BayesError (options, a checkpoint of another fit), LoadError (a bad checkpoint),
// WriteError (files) and the model's Error.
LaplaceFitResult fit_laplace(vk::Context& context, const model::ModelWeights& weights,
                             std::span<const FitExample> examples, const LaplaceFitOptions& options,
                             const std::function<void(const FitProgress&)>& progress = {});

}  // namespace vkmoe::bayes
