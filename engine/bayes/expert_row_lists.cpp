#include "engine/bayes/expert_row_lists.h"

namespace vkmoe::bayes {

ExpertRowLists::ExpertRowLists(std::int64_t experts)
    : a_(static_cast<std::size_t>(experts)), g_(static_cast<std::size_t>(experts)) {}

void ExpertRowLists::add(const ExampleRows& x) {
  for (std::size_t e = 0; e < a_.size(); ++e) {
    const std::span<const uint32_t> entries = x.lists.subspan(e * x.stride, x.counts[e]);
    for (uint32_t entry : entries) a_[e].push_back(x.a_first + entry);
    for (uint32_t pass = 0; pass < x.passes; ++pass) {
      for (uint32_t entry : entries) g_[e].push_back(x.g_top - (pass * x.entries + entry));
    }
  }
}

void ExpertRowLists::clear() {
  for (auto& rows : a_) rows.clear();
  for (auto& rows : g_) rows.clear();
}

std::int64_t ExpertRowLists::tokens(std::int64_t e) const {
  return static_cast<std::int64_t>(a_[static_cast<std::size_t>(e)].size());
}

const std::vector<uint32_t>& ExpertRowLists::rows(KfacFactor factor, std::int64_t e) const {
  return (factor == KfacFactor::kA ? a_ : g_)[static_cast<std::size_t>(e)];
}

}  // namespace vkmoe::bayes
