// Which MoE layers a fit treats (`--layers`, DESIGN.md "Bayesian-MoE", layers), for the
// layer-wise ablation: `all`; a quarter `q1`..`q4` of the model's MoE layers in depth order (the
// k-th quarter holds MoE layers ⌊(k−1)n/4⌋ ≤ j < ⌊kn/4⌋ of n); or an inclusive range `A-B` of
// layer indices (its dense layers are skipped, a single index `A` is the range A-A).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loaders/model_config.h"

namespace vkmoe::bayes {

// The selected MoE layer indices, ascending. Throws BayesError naming `--layers` for an unknown
// form, a range outside the model or backwards, or a selection without MoE layers.
std::vector<std::int64_t> select_layers(std::string_view text, const ModelConfig& config);

// The MoE layer indices of quarter `quarter` (1..4), ascending; empty when the model has too
// few MoE layers for that quarter to hold one (e.g. q1 of a two-layer model). Throws BayesError
// for a quarter outside 1..4.
std::vector<std::int64_t> layer_quarter(int quarter, const ModelConfig& config);

// "0-23" for a contiguous run, "1,3,5" otherwise; "" for none.
std::string describe_layers(const std::vector<std::int64_t>& layers);

}  // namespace vkmoe::bayes
