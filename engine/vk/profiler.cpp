#include "engine/vk/profiler.h"

#include <algorithm>
#include <cstdio>

namespace vkmoe::vk {

void Profiler::record(std::string_view label, double nanoseconds, KernelCost cost) {
  std::lock_guard lock(mutex_);
  auto it = stats_.find(label);
  if (it == stats_.end())
    it = stats_.emplace(std::string(label), KernelStats{std::string(label)}).first;
  KernelStats& stats = it->second;
  stats.calls += 1;
  stats.total_ns += nanoseconds;
  stats.flops += cost.flops;
  stats.bytes += cost.bytes;
}

std::vector<KernelStats> Profiler::rows() const {
  std::lock_guard lock(mutex_);
  std::vector<KernelStats> rows;
  for (const auto& [label, stats] : stats_) rows.push_back(stats);
  std::sort(rows.begin(), rows.end(),
            [](const KernelStats& a, const KernelStats& b) { return a.total_ns > b.total_ns; });
  return rows;
}

KernelStats Profiler::find(std::string_view label) const {
  std::lock_guard lock(mutex_);
  auto it = stats_.find(label);
  return it == stats_.end() ? KernelStats{std::string(label)} : it->second;
}

void Profiler::clear() {
  std::lock_guard lock(mutex_);
  stats_.clear();
}

std::string Profiler::table() const {
  const std::vector<KernelStats> all = rows();
  double total = 0;
  for (const auto& row : all) total += row.total_ns;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-40s %8s %12s %6s %10s %9s\n", "kernel", "calls", "total us",
                "%", "GFLOP/s", "GB/s");
  out += line;
  for (const auto& row : all) {
    std::snprintf(line, sizeof line, "%-40s %8llu %12.1f %6.1f %10.2f %9.2f\n", row.label.c_str(),
                  static_cast<unsigned long long>(row.calls), row.total_ns / 1e3,
                  total > 0 ? 100.0 * row.total_ns / total : 0.0, row.gflops_per_s(),
                  row.gbytes_per_s());
    out += line;
  }
  return out;
}

}  // namespace vkmoe::vk
