// The Bayesian-MoE steps the CLI runs over tokenized multiple-choice items, shared by
// `vkmoe laplace fit`, `vkmoe eval` and `vkmoe bench laplace`: items as the fit reads them, and
// the two predictives (engine/bayes/predictive.h, expert_weight_sampler.h) item by item.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/posterior_file.h"
#include "engine/bayes/predictive.h"
#include "engine/eval/choice_tokens.h"
#include "engine/eval/multiple_choice.h"
#include "engine/model/model_weights.h"
#include "loaders/dataset.h"
#include "loaders/tokenizer.h"
#include "tools/fit_examples.h"

namespace vkmoe::cli {

// Called after each item (glm) or weight sample (mc) with the count done and the total.
using PredictionProgress = std::function<void(std::size_t done, std::size_t total)>;

// Items tokenized for answer-label scoring, then as the fit reads them (fit_examples.h).
std::vector<bayes::FitExample> fit_examples(const std::vector<MultipleChoiceItem>& items,
                                            const Tokenizer& tokenizer);

// The `glm` predictive of every item: its Jacobians (one forward, C backward passes), then the
// linearised predictive with item index i as its sampling stream.
std::vector<std::vector<double>> glm_probabilities(vk::Context& context,
                                                   const model::ModelWeights& weights,
                                                   const bayes::Posterior& posterior,
                                                   const bayes::GlmPredictiveOptions& options,
                                                   const std::vector<eval::TokenizedItem>& items,
                                                   const PredictionProgress& progress = {});

// The same for each of several prior precisions (a sweep over λ; nullopt: the posterior's),
// [λ][item][class], from one gather of Jacobians per item — the backward passes are the cost,
// the predictive per λ is host work. Entry k equals glm_probabilities with λ = lambdas[k].
std::vector<std::vector<std::vector<double>>> glm_probability_sweep(
    vk::Context& context, const model::ModelWeights& weights, const bayes::Posterior& posterior,
    const bayes::GlmPredictiveOptions& options, const std::vector<std::optional<double>>& lambdas,
    const std::vector<eval::TokenizedItem>& items, const PredictionProgress& progress = {});

// The `mc` predictive: the mean over options.integration.samples weight samples of each item's
// label probabilities. The weights are restored before it returns.
std::vector<std::vector<double>> sampled_probabilities(
    vk::Context& context, model::ModelWeights& weights, const bayes::Posterior& posterior,
    const bayes::GlmPredictiveOptions& options, eval::MultipleChoiceScorer& scorer,
    const std::vector<eval::TokenizedItem>& items, const PredictionProgress& progress = {});

}  // namespace vkmoe::cli
