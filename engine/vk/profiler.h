// Per-kernel GPU time from timestamp queries: calls, total µs, GFLOP/s and GB/s per label.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vkmoe::vk {

// Work one dispatch does, as its launcher counts it (for rates, not for correctness).
struct KernelCost {
  double flops = 0;
  double bytes = 0;
};

struct KernelStats {
  std::string label;
  uint64_t calls = 0;
  double total_ns = 0;
  double flops = 0;
  double bytes = 0;

  double gflops_per_s() const { return total_ns > 0 ? flops / total_ns : 0; }
  double gbytes_per_s() const { return total_ns > 0 ? bytes / total_ns : 0; }
};

class Profiler {
 public:
  void record(std::string_view label, double nanoseconds, KernelCost cost);
  std::vector<KernelStats> rows() const;  // by total time, largest first
  KernelStats find(std::string_view label) const;
  void clear();
  // The table VKMOE_PROFILE=1 prints.
  std::string table() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, KernelStats, std::less<>> stats_;
};

}  // namespace vkmoe::vk
