#include "engine/bayes/layer_ablation.h"

#include <algorithm>

namespace vkmoe::bayes {

std::vector<std::size_t> posterior_positions(const Posterior& posterior,
                                             std::span<const std::int64_t> layers) {
  std::vector<std::size_t> positions;
  for (std::size_t t = 0; t < posterior.layers.size(); ++t) {
    if (std::find(layers.begin(), layers.end(), posterior.layers[t].layer) != layers.end()) {
      positions.push_back(t);
    }
  }
  return positions;
}

ValidationJacobians without_layers(const ValidationJacobians& example,
                                   std::span<const std::size_t> left_out) {
  ValidationJacobians kept;
  kept.mean = example.mean;
  kept.label = example.label;
  for (const ExpertRows& e : example.experts) {
    if (std::find(left_out.begin(), left_out.end(), e.layer) == left_out.end()) {
      kept.experts.push_back(e);
    }
  }
  return kept;
}

}  // namespace vkmoe::bayes
