#include "engine/bayes/prior_options.h"

#include <charconv>
#include <cmath>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

std::string_view prior_mean_name(PriorMean m) {
  return m == PriorMean::kMap ? "map" : "zero";
}

PriorMean parse_prior_mean(std::string_view text) {
  if (text == "zero") return PriorMean::kZero;
  if (text == "map") return PriorMean::kMap;
  throw BayesError("--prior-mean: '" + std::string(text) + "' is not one of zero, map");
}

PriorPrecisionOption parse_prior_precision(std::string_view text) {
  if (text == "evidence") return {PrecisionChoice::kEvidence, 0};
  if (text == "val") return {PrecisionChoice::kValidation, 0};
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value) || value <= 0) {
    throw BayesError("--prior-precision: '" + std::string(text) +
                     "' is not evidence, val or a finite number > 0");
  }
  return {PrecisionChoice::kFixed, value};
}

void check_prior_options(PriorMean mean, const PriorPrecisionOption& precision) {
  if (mean == PriorMean::kMap && precision.choice == PrecisionChoice::kEvidence) {
    throw BayesError(
        "--prior-precision evidence cannot be used with --prior-mean map: with the prior centred "
        "on the fine-tuned weights (μ₀ = θ*) the data-fit term of the evidence does not depend "
        "on λ, and the Occam factor ½D log λ − ½ log det P = −½ Σ log(1 + c/λ) alone increases "
        "with λ for every λ, so the evidence has no maximum (it prefers λ → ∞, a posterior "
        "collapsed onto θ*); use --prior-precision val or a number");
  }
}

}  // namespace vkmoe::bayes
