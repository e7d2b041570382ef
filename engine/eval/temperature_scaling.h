// Temperature scaling (Guo et al. 2017), the simplest post-hoc calibration baseline: one scalar
// T > 0 divides every logit, chosen to minimise the NLL of held-out (validation) items; the
// argmax, hence the accuracy, is unchanged. Pure host code.
#pragma once

#include <span>
#include <vector>

namespace vkmoe::eval {

struct TemperatureFit {
  double temperature = 1.0;
  double nll_at_one = 0;  // mean NLL of the unscaled logits
  double nll = 0;         // mean NLL at `temperature`
};

// T in [kMinTemperature, kMaxTemperature] minimising the mean −log softmax(z/T)_y. The NLL is
// convex in β = 1/T (a log-sum-exp of functions linear in β minus a linear one), so it is
// unimodal in log β and a golden-section search over log β finds the minimum; on separable data
// the NLL keeps falling as T → 0 and the search stops at the bound. Throws Error for no items,
// mismatched sizes, a label out of range or a non-finite logit.
inline constexpr double kMinTemperature = 1e-2, kMaxTemperature = 1e2;
TemperatureFit fit_temperature(std::span<const std::vector<double>> logits,
                               std::span<const int> labels);

// softmax(z / T) in double.
std::vector<double> tempered_softmax(std::span<const double> logits, double temperature);

}  // namespace vkmoe::eval
