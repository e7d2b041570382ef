// The device memory a KFAC fit may use (kfac.h), kept apart from the accumulator so `vkmoe plan`
// can size a fit without a device.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace vkmoe::bayes {

struct KfacBudget {
  // Device bytes for the rows gathered between merges, all treated layers together (each layer
  // gets an equal share, at most one binding). More means more rows per Gram launch.
  std::uint64_t row_bytes = std::uint64_t{1} << 30;
  // Device bytes for the Gram matrices of one group of experts (at least one expert's).
  std::uint64_t gram_bytes = std::uint64_t{256} << 20;
};

// Experts per Gram launch: as many as the Gram budget holds and, each factor of the group being
// one binding, as `binding_bytes` holds of the larger factor — at least one, at most `experts`.
inline std::int64_t kfac_gram_group(
    const KfacBudget& budget, std::int64_t h, std::int64_t i, std::int64_t experts,
    std::uint64_t binding_bytes = std::numeric_limits<std::uint64_t>::max()) {
  const auto hh = static_cast<std::uint64_t>(h * h), ii = static_cast<std::uint64_t>(i * i);
  const std::uint64_t fit = std::min(budget.gram_bytes / ((hh + ii) * sizeof(float)),
                                     binding_bytes / (std::max(hh, ii) * sizeof(float)));
  return static_cast<std::int64_t>(std::clamp<std::uint64_t>(
      fit, 1, static_cast<std::uint64_t>(std::max<std::int64_t>(experts, 1))));
}

}  // namespace vkmoe::bayes
