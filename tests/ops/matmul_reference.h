// Test-side pieces shared by the GEMM and GEMV suites, written independently of the engine:
// rounding f32 weights to f16/bf16 bits (and back), quantising them to GGUF blocks (and the
// values those blocks mean), and a double-accumulating matmul.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
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

inline StoredWeights quantize_weights(const std::vector<float>& original, ops::DType type);

inline StoredWeights store_weights(const std::vector<float>& original, ops::DType type) {
  if (ops::dtype_is_quantized(type)) return quantize_weights(original, type);
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

// Quantisation, block by block over the flat vector (so rows of a whole number of blocks
// quantise row by row), with a plain max-abs or min/max rule; the point is not the best
// codes but bytes in GGUF's layout together with the exact values they decode to. A block
// holding a NaN gets a NaN scale, so every weight it decodes to is NaN.
struct BlockWriter {
  std::vector<std::byte>& bytes;
  void u8(uint32_t v) { bytes.push_back(static_cast<std::byte>(v & 0xffu)); }
  void f16(uint16_t bits) {
    u8(bits);
    u8(bits >> 8u);
  }
};

// Rounds a positive scale to f16 and returns {bits, value}; a NaN stays NaN.
inline std::pair<uint16_t, float> f16_scale(float scale) {
  const uint16_t bits = to_f16_bits(scale);
  return {bits, from_f16_bits(bits)};
}

inline uint32_t clamped_code(float v, float low, float high) {
  return static_cast<uint32_t>(std::clamp(std::nearbyint(v), low, high));
}

inline bool any_nan(const float* x, size_t count) {
  return std::any_of(x, x + count, [](float v) { return std::isnan(v); });
}

// Q8_0: d = max|x| / 127, q = round(x / d); weight = d * q.
inline void quantize_q8_0(const float* x, BlockWriter out, float* values) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const auto [bits, d] = f16_scale(any_nan(x, 32) ? NAN : amax / 127.0f);
  out.f16(bits);
  for (int i = 0; i < 32; ++i) {
    const uint32_t q = d > 0 ? clamped_code(x[i] / d, -127, 127) : 0;
    out.u8(q);
    values[i] = d * static_cast<float>(static_cast<int8_t>(q & 0xffu));
  }
}

// Q4_0: d = max|x| / 7, code = round(x / d) + 8 in 0..15; weight = d * (code - 8). Byte j
// holds weight j (low nibble) and weight j + 16 (high nibble).
inline void quantize_q4_0(const float* x, BlockWriter out, float* values) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const auto [bits, d] = f16_scale(any_nan(x, 32) ? NAN : amax / 7.0f);
  out.f16(bits);
  uint32_t code[32];
  for (int i = 0; i < 32; ++i) {
    code[i] = d > 0 ? clamped_code(x[i] / d + 8.0f, 0, 15) : 8;
    values[i] = d * static_cast<float>(static_cast<int>(code[i]) - 8);
  }
  for (int j = 0; j < 16; ++j) out.u8(code[j] | (code[j + 16] << 4));
}

// Q4_K: 8 sub-blocks of 32 with a 6-bit scale sc and min m each, under f16 factors d and
// dmin; weight = (d * sc) * q - dmin * m with 4-bit q. Scales and mins are packed into 12
// bytes: sub-block s < 4 in the low 6 bits of bytes s (scale) and s + 4 (min); s >= 4 in the
// nibbles of byte s + 4 (scale low, min high) and the top 2 bits of bytes s - 4 (scale) and s
// (min). Bytes 32j .. 32j + 31 of the codes hold sub-block 2j (low nibbles) and 2j + 1 (high).
inline void quantize_q4_k(const float* x, BlockWriter out, float* values) {
  float step[8], offset[8];  // per sub-block: (max - min) / 15 and -min (min clamped to <= 0)
  float step_max = 0, offset_max = 0;
  for (int s = 0; s < 8; ++s) {
    const auto [lo, hi] = std::minmax_element(x + 32 * s, x + 32 * s + 32);
    offset[s] = -std::min(*lo, 0.0f);
    step[s] = (*hi + offset[s]) / 15.0f;
    step_max = std::max(step_max, step[s]);
    offset_max = std::max(offset_max, offset[s]);
  }
  const bool nan = any_nan(x, 256);
  const auto [d_bits, d] = f16_scale(nan ? NAN : step_max / 63.0f);
  const auto [dmin_bits, dmin] = f16_scale(nan ? NAN : offset_max / 63.0f);
  uint32_t sc[8], m[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = d > 0 ? clamped_code(step[s] / d, 0, 63) : 0;
    m[s] = dmin > 0 ? clamped_code(offset[s] / dmin, 0, 63) : 0;
  }
  uint32_t packed[12] = {};
  for (int s = 0; s < 8; ++s) {
    if (s < 4) {
      packed[s] |= sc[s];
      packed[s + 4] |= m[s];
    } else {
      packed[s + 4] |= (sc[s] & 0xfu) | ((m[s] & 0xfu) << 4);
      packed[s - 4] |= (sc[s] >> 4) << 6;
      packed[s] |= (m[s] >> 4) << 6;
    }
  }
  out.f16(d_bits);
  out.f16(dmin_bits);
  for (uint32_t b : packed) out.u8(b);
  uint32_t code[256];
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;
    const float scale = d * static_cast<float>(sc[s]), shift = dmin * static_cast<float>(m[s]);
    code[i] = scale > 0 ? clamped_code((x[i] + shift) / scale, 0, 15) : 0;
    values[i] = scale * static_cast<float>(code[i]) - shift;
  }
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) out.u8(code[64 * j + l] | (code[64 * j + 32 + l] << 4));
  }
}

inline StoredWeights quantize_weights(const std::vector<float>& original, ops::DType type) {
  const size_t block = ops::dtype_block_elements(type);
  if (original.size() % block != 0) throw std::invalid_argument("not a whole number of blocks");
  StoredWeights stored;
  stored.values.resize(original.size());
  for (size_t at = 0; at < original.size(); at += block) {
    const BlockWriter out{stored.bytes};
    if (type == ops::DType::q8_0) quantize_q8_0(&original[at], out, &stored.values[at]);
    if (type == ops::DType::q4_0) quantize_q4_0(&original[at], out, &stored.values[at]);
    if (type == ops::DType::q4_k) quantize_q4_k(&original[at], out, &stored.values[at]);
  }
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

// The dense [rows, cols] matrix of a strided view: row r's values start at skip + r * stride.
inline std::vector<float> dense_rows(const std::vector<float>& all, size_t skip, size_t rows,
                                     size_t cols, size_t stride) {
  std::vector<float> dense(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) dense[r * cols + c] = all[skip + r * stride + c];
  }
  return dense;
}

// Accuracy the kernels are held to. Against a reference computed from the weights as stored
// (f16/bf16 already rounded), every dtype must match to f32 accumulation accuracy.
constexpr double kStoredWeightsNmse = 1e-7;
// Against the unrounded f32 weights, f16 and bf16 storage may lose this much (DESIGN.md's
// f16 GEMM threshold).
constexpr double kRoundedWeightsNmse = 5e-4;

}  // namespace vkmoe::test
