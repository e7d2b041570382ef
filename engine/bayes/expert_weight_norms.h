// ‖θ* − μ₀‖² of the evidence (evidence.h) for each treated layer: Σ_e ‖W_e‖² over the routed
// experts' down_proj weights as loaded on the device (read back once, decoded from f16, bf16 or
// GGUF blocks), or 0 for the prior centred on the fine-tuned weights.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/bayes/prior_options.h"
#include "engine/model/model_weights.h"

namespace vkmoe::bayes {

// One distance per entry of `layers`.
std::vector<double> down_proj_squared_distances(vk::Context& context,
                                                const model::ModelWeights& weights,
                                                const std::vector<std::int64_t>& layers,
                                                PriorMean mean);

}  // namespace vkmoe::bayes
