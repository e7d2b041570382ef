#include "loaders/param_count.h"

#include "loaders/model_description.h"

namespace vkmoe {

ParamCount count_params(const ModelConfig& c) {
  ParamCount p;
  // the stacked layout has one entry per layer for the experts, so this stays short
  for (const TensorSpec& t : describe_tensors(c, ExpertLayout::kStacked)) {
    std::uint64_t n = 1;
    for (std::int64_t d : t.shape) n *= static_cast<std::uint64_t>(d);
    p.total += n;
    switch (t.role) {
      case TensorRole::kTokenEmbedding:
      case TensorRole::kLmHead:
        p.embedding += n;
        break;
      case TensorRole::kExpertsGate:
      case TensorRole::kExpertsUp:
      case TensorRole::kExpertsDown:
        p.routed_experts += n;
        break;
      default:
        break;
    }
  }
  const auto per_expert = static_cast<std::uint64_t>(3 * c.hidden_size * c.moe_intermediate_size);
  const auto unused = static_cast<std::uint64_t>(c.num_experts - c.experts_per_token);
  p.active = p.total - static_cast<std::uint64_t>(c.num_moe_layers()) * unused * per_expert;
  return p;
}

}  // namespace vkmoe
