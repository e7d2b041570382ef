#include "tools/bayes_predictions.h"

#include <span>
#include <utility>

#include "engine/bayes/expert_weight_sampler.h"
#include "engine/bayes/glm_validation.h"

namespace vkmoe::cli {

std::vector<bayes::FitExample> fit_examples(const std::vector<MultipleChoiceItem>& items,
                                            const Tokenizer& tokenizer) {
  std::vector<bayes::FitExample> examples;
  for (const MultipleChoiceItem& item : items) {
    examples.push_back(
        fit_example(eval::tokenize_item(item, tokenizer, eval::ScoringMethod::kAnswerLabels)));
  }
  return examples;
}

std::vector<std::vector<double>> glm_probabilities(vk::Context& context,
                                                   const model::ModelWeights& weights,
                                                   const bayes::Posterior& posterior,
                                                   const bayes::GlmPredictiveOptions& options,
                                                   const std::vector<eval::TokenizedItem>& items,
                                                   const PredictionProgress& progress) {
  return std::move(glm_probability_sweep(context, weights, posterior, options,
                                         {options.prior_precision}, items, progress)
                       .front());
}

std::vector<std::vector<std::vector<double>>> glm_probability_sweep(
    vk::Context& context, const model::ModelWeights& weights, const bayes::Posterior& posterior,
    const bayes::GlmPredictiveOptions& options, const std::vector<std::optional<double>>& lambdas,
    const std::vector<eval::TokenizedItem>& items, const PredictionProgress& progress) {
  const std::vector<std::int64_t> layers = bayes::posterior_layer_indices(posterior);
  std::vector<std::vector<std::vector<double>>> probabilities(lambdas.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const bayes::FitExample example = fit_example(items[i]);
    const std::vector<bayes::ValidationJacobians> j = bayes::gather_validation_jacobians(
        context, weights, std::span<const bayes::FitExample>(&example, 1), layers);
    for (std::size_t k = 0; k < lambdas.size(); ++k) {
      bayes::GlmPredictiveOptions at = options;
      at.prior_precision = lambdas[k];
      probabilities[k].push_back(bayes::glm_predictive(posterior, j.front(), at, i));
    }
    if (progress) progress(i + 1, items.size());
  }
  return probabilities;
}

std::vector<std::vector<double>> sampled_probabilities(
    vk::Context& context, model::ModelWeights& weights, const bayes::Posterior& posterior,
    const bayes::GlmPredictiveOptions& options, eval::MultipleChoiceScorer& scorer,
    const std::vector<eval::TokenizedItem>& items, const PredictionProgress& progress) {
  bayes::ExpertWeightSampler sampler(context, weights, posterior, options.prior_precision,
                                     options.integration.seed);
  std::vector<std::vector<double>> mean(items.size());
  const auto samples = static_cast<std::size_t>(options.integration.samples);
  for (std::size_t s = 0; s < samples; ++s) {
    sampler.draw(static_cast<std::uint32_t>(s));
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::vector<double> p = scorer.score(items[i]).probabilities;
      mean[i].resize(p.size(), 0.0);
      for (std::size_t c = 0; c < p.size(); ++c) mean[i][c] += p[c] / static_cast<double>(samples);
    }
    if (progress) progress(s + 1, samples);
  }
  sampler.restore();
  return mean;
}

}  // namespace vkmoe::cli
