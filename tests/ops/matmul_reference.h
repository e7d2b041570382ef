// Test-side pieces shared by the GEMM and GEMV suites, written independently of the engine:
// rounding f32 weights to f16/bf16 bits (and back), and a double-accumulating matmul.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/ops/launch.h"

namespace vkmoe::test {

// f32 -> IEEE binary16 bits, round to nearest even; handles subnormals, overflow to inf.
inline uint16_t to_f16_bits(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u)
    return static_cast<uint16_t>(sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  const int exponent = static_cast<int>(abs >> 23) - 127;
  if (exponent < -14) {  // subnormal half: value = mantissa * 2^-24
    const double scaled = std::ldexp(static_cast<double>(std::bit_cast<float>(abs)), 24);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  const uint32_t mantissa = abs & 0x7fffffu;
  uint32_t half = (static_cast<uint32_t>(exponent + 15) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // carries into the exponent
  return static_cast<uint16_t>(sign | half);
}

inline float from_f16_bits(uint16_t bits) {
  const double sign = (bits & 0x8000u) ? -1.0 : 1.0;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  if (exponent == 0) return static_cast<float>(sign * std::ldexp(mantissa, -24));
  if (exponent == 31) return mantissa ? NAN : static_cast<float>(sign * INFINITY);
  return static_cast<float>(sign * std::ldexp(1024 + mantissa, exponent - 25));
}

// f32 -> bfloat16 bits, round to nearest even (finite inputs).
inline uint16_t to_bf16_bits(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  const uint32_t rounded = f + 0x7fffu + ((f >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

inline float from_bf16_bits(uint16_t bits) {
  return std::bit_cast<float>(uint32_t{bits} << 16);
}

// Weights as the device stores them (`bytes`) and the f32 values those bytes mean (`values`),
// which the reference uses so the kernel is held to f32 accuracy even for 16-bit weights.
struct StoredWeights {
  std::vector<std::byte> bytes;
  std::vector<float> values;
};

inline StoredWeights store_weights(const std::vector<float>& original, ops::DType type) {
  StoredWeights stored;
  stored.values.resize(original.size());
  if (type == ops::DType::f32) {
    stored.values = original;
    stored.bytes.resize(original.size() * 4);
    std::memcpy(stored.bytes.data(), original.data(), stored.bytes.size());
    return stored;
  }
  std::vector<uint16_t> bits(original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    if (type == ops::DType::f16) {
      bits[i] = to_f16_bits(original[i]);
      stored.values[i] = from_f16_bits(bits[i]);
    } else {
      bits[i] = to_bf16_bits(original[i]);
      stored.values[i] = from_bf16_bits(bits[i]);
    }
  }
  stored.bytes.resize(bits.size() * 2);
  std::memcpy(stored.bytes.data(), bits.data(), stored.bytes.size());
  return stored;
}

// y[r, c] = sum_i x[r, i] * w[c, i] in double; x is [rows, k], w is [cols, k], y is [rows, cols].
inline std::vector<float> reference_matmul(const std::vector<float>& x, const std::vector<float>& w,
                                           size_t rows, size_t cols, size_t k) {
  std::vector<float> y(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      double sum = 0;
      for (size_t i = 0; i < k; ++i) sum += double(x[r * k + i]) * double(w[c * k + i]);
      y[r * cols + c] = static_cast<float>(sum);
    }
  }
  return y;
}

// Accuracy the kernels are held to. Against a reference computed from the weights as stored
// (f16/bf16 already rounded), every dtype must match to f32 accumulation accuracy.
constexpr double kStoredWeightsNmse = 1e-7;
// Against the unrounded f32 weights, f16 and bf16 storage may lose this much (DESIGN.md's
// f16 GEMM threshold).
constexpr double kRoundedWeightsNmse = 5e-4;

}  // namespace vkmoe::test
