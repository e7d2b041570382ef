// Which Fisher the KFAC factors approximate (DESIGN.md "Bayesian-MoE", factors): `exact` (C
// backward passes per example weighted by the model's probabilities), `mc` (labels sampled from
// the model) or `empirical` (the true labels).
#pragma once

#include <cstdint>
#include <string_view>

namespace vkmoe::bayes {

enum class FisherType : std::uint8_t { kExact, kMc, kEmpirical };

std::string_view fisher_type_name(FisherType f);  // "exact", "mc", "empirical"

// Throws BayesError naming `--fisher` and the accepted values.
FisherType parse_fisher_type(std::string_view text);

}  // namespace vkmoe::bayes
