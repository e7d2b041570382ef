// A counter-based random stream: value i of stream s depends only on (seed, s, i), so data
// sets are the same whatever order or batch they are generated in.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace vkmoe::stats {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t stream) : key_(splitmix64(splitmix64(seed) ^ stream)) {}

  // Uniform on (0, 1): 53 random bits, never exactly 0 or 1.
  double uniform(uint64_t index) const {
    const uint64_t bits = splitmix64(key_ ^ splitmix64(index)) >> 11;
    return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
  }

  // Standard normal by Box-Muller from the uniforms at 2*index and 2*index + 1.
  double normal(uint64_t index) const {
    const double u = uniform(2 * index), v = uniform(2 * index + 1);
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
  }

 private:
  uint64_t key_;
};

}  // namespace vkmoe::stats
