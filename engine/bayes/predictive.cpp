#include "engine/bayes/predictive.h"

#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

double layer_prior_precision(const Posterior& posterior, std::size_t layer,
                             const GlmPredictiveOptions& options) {
  if (options.prior_precision) {
    if (!(*options.prior_precision > 0)) throw BayesError("prior precision must be > 0");
    return *options.prior_precision;
  }
  const std::vector<double>& lambda = posterior.prior_precision;
  if (lambda.size() == 1) return lambda.front();
  if (lambda.size() != posterior.layers.size() || layer >= lambda.size()) {
    throw BayesError("posterior has " + std::to_string(lambda.size()) + " prior precisions for " +
                     std::to_string(posterior.layers.size()) + " layers");
  }
  return lambda[layer];
}

std::vector<double> glm_predictive(const Posterior& posterior, const ValidationJacobians& example,
                                   const GlmPredictiveOptions& options, std::uint64_t index) {
  const auto classes = static_cast<std::int64_t>(example.mean.size());
  std::vector<ExpertLogitJacobians> experts;
  for (const ExpertRows& e : example.experts) {
    if (e.layer >= posterior.layers.size() ||
        e.expert >= posterior.layers[e.layer].experts.size()) {
      throw BayesError("Jacobians for layer " + std::to_string(e.layer) + " expert " +
                       std::to_string(e.expert) + " that the posterior does not hold");
    }
    ExpertLogitJacobians j;
    j.factors = &posterior.layers[e.layer].experts[e.expert];
    j.scale = {layer_prior_precision(posterior, e.layer, options), posterior.temperature};
    for (const std::vector<double>& g : e.g) j.per_class.push_back({g, e.a, e.terms});
    experts.push_back(std::move(j));
  }
  const std::vector<double> sigma = logit_covariance(experts, classes);
  PredictiveOptions integration = options.integration;
  // SplitMix64's increment: consecutive examples get well separated streams.
  integration.seed = options.integration.seed ^ (index * 0x9E3779B97F4A7C15ull);
  return predictive_probabilities(example.mean, sigma, integration);
}

std::vector<std::int64_t> posterior_layer_indices(const Posterior& posterior) {
  std::vector<std::int64_t> layers;
  for (const LayerPosterior& l : posterior.layers) layers.push_back(l.layer);
  return layers;
}

}  // namespace vkmoe::bayes
