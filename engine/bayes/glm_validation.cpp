#include "engine/bayes/glm_validation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "engine/bayes/fisher_targets.h"
#include "engine/model/backward.h"
#include "engine/model/saved_forward.h"
#include "engine/vk/stream.h"

namespace vkmoe::bayes {

std::vector<ValidationJacobians> gather_validation_jacobians(
    vk::Context& context, const model::ModelWeights& weights, std::span<const FitExample> examples,
    const std::vector<std::int64_t>& layers) {
  const auto H = static_cast<std::size_t>(weights.config.hidden_size);
  const auto I = static_cast<std::size_t>(weights.config.moe_intermediate_size);
  vk::Stream stream(context);
  std::vector<ValidationJacobians> out;
  for (const FitExample& ex : examples) {
    const model::SavedForward forward(context, weights, ex.prompt);
    std::vector<float> label_logits;
    for (uint32_t token : ex.answers) label_logits.push_back(forward.last_logits().at(token));
    ValidationJacobians v;
    for (double p : label_probabilities(label_logits)) v.mean.push_back(std::log(p));
    v.label = ex.label;
    const std::size_t classes = ex.answers.size();
    std::map<std::pair<std::size_t, std::size_t>, ExpertRows> rows;
    for (std::size_t c = 0; c < classes; ++c) {
      std::vector<float> targets(classes, 0.0f);
      targets[c] = 1.0f;
      const model::ActivationGradients grads =
          model::backward(context, weights, forward, {ex.answers, targets});
      for (const model::MoeLayerActivations& m : grads.moe_layers()) {
        const auto it = std::find(layers.begin(), layers.end(), m.layer);
        if (it == layers.end()) continue;
        const auto t = static_cast<std::size_t>(it - layers.begin());
        std::vector<float> g(m.entries * H), a(m.entries * I);
        std::vector<uint32_t> choices(m.entries);
        stream.download(m.g, g.data(), g.size() * sizeof(float));
        stream.download(m.a, a.data(), a.size() * sizeof(float));
        stream.download(m.choices, choices.data(), choices.size() * sizeof(uint32_t));
        stream.finish();
        for (std::size_t r = 0; r < m.entries; ++r) {
          ExpertRows& e = rows[{t, choices[r]}];
          e.layer = t;
          e.expert = choices[r];
          e.g.resize(classes);
          if (c == 0) {
            e.a.insert(e.a.end(), a.begin() + static_cast<std::ptrdiff_t>(r * I),
                       a.begin() + static_cast<std::ptrdiff_t>((r + 1) * I));
            ++e.terms;
          }
          for (std::size_t h = 0; h < H; ++h) e.g[c].push_back(-static_cast<double>(g[r * H + h]));
        }
      }
    }
    for (auto& [key, e] : rows) v.experts.push_back(std::move(e));
    out.push_back(std::move(v));
  }
  return out;
}

double glm_validation_nll(const Posterior& posterior, std::span<const ValidationJacobians> data,
                          double lambda, const PredictiveOptions& options) {
  double nll = 0;
  for (const ValidationJacobians& v : data) {
    const auto classes = static_cast<std::int64_t>(v.mean.size());
    std::vector<ExpertLogitJacobians> experts;
    for (const ExpertRows& e : v.experts) {
      ExpertLogitJacobians j;
      j.factors = &posterior.layers.at(e.layer).experts.at(e.expert);
      j.scale = {lambda, posterior.temperature};
      for (const std::vector<double>& g : e.g) j.per_class.push_back({g, e.a, e.terms});
      experts.push_back(std::move(j));
    }
    const std::vector<double> sigma = logit_covariance(experts, classes);
    const std::vector<double> p = predictive_probabilities(v.mean, sigma, options);
    nll -= std::log(std::max(p[static_cast<std::size_t>(v.label)], 1e-300));
  }
  return nll / static_cast<double>(data.size());
}

}  // namespace vkmoe::bayes
