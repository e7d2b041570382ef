// The prior N(μ₀, λ⁻¹I) of the Laplace posterior and how λ is chosen (DESIGN.md
// "Bayesian-MoE", posterior and evidence). Enums inside the engine; the strings of the
// `--prior-mean` and `--prior-precision` options are parsed here, once, for every command.
#pragma once

#include <cstdint>
#include <string_view>

namespace vkmoe::bayes {

enum class PriorMean : std::uint8_t {
  kZero,  // μ₀ = 0 (Laplace-LoRA, laplace-torch): the default
  kMap,   // μ₀ = θ*, the fine-tuned weights
};

enum class PrecisionChoice : std::uint8_t {
  kEvidence,    // maximise the marginal likelihood over log λ (default)
  kValidation,  // λ on a log grid by NLL on a validation file
  kFixed,       // a number given by the user
};

struct PriorPrecisionOption {
  PrecisionChoice choice = PrecisionChoice::kEvidence;
  double value = 0;  // kFixed: λ > 0
};

std::string_view prior_mean_name(PriorMean m);  // "zero", "map"

// "zero" | "map"; throws BayesError naming the option and the accepted values.
PriorMean parse_prior_mean(std::string_view text);

// "evidence" | "val" | a finite number > 0; throws BayesError naming the option otherwise.
PriorPrecisionOption parse_prior_precision(std::string_view text);

// Refuses kEvidence with kMap: with μ₀ = θ* the term −½λ‖θ*−μ₀‖² vanishes, the data-fit term
// does not depend on λ, and the Occam factor ½D log λ − ½ log det P = −½ Σ_ji log(1 + c_ji/λ)
// alone increases with λ everywhere, so the evidence has no maximum (its supremum is at
// λ → ∞). Throws BayesError saying so.
void check_prior_options(PriorMean mean, const PriorPrecisionOption& precision);

}  // namespace vkmoe::bayes
