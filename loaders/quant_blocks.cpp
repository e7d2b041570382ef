#include "loaders/quant_blocks.h"

#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vkmoe {

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t man = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: value = man · 2^-24
    const float v = static_cast<float>(man) * 0x1p-24f;
    return sign ? -v : v;
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_f32(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

std::uint16_t f32_to_bf16(float f) {
  const auto u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<std::uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

std::uint16_t f32_to_f16(float f) {
  const auto u = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);   // NaN
  if (a >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // ≥ 65520: inf
  if (a < 0x38800000u) {  // below the smallest normal half 2^-14: subnormal or zero
    const float v = std::bit_cast<float>(a);
    // a multiple of 2^-24, rounded half to even
    const float q = v * 0x1p24f;
    auto n = static_cast<std::uint32_t>(q);
    const float frac = q - static_cast<float>(n);
    if (frac > 0.5f || (frac == 0.5f && (n & 1u))) ++n;
    return static_cast<std::uint16_t>(sign | n);
  }
  const std::uint32_t rounded = a + 0xFFFu + ((a >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | ((rounded - (112u << 23)) >> 13));
}

void q4_k_scale_min(const std::uint8_t q[12], int j, std::uint8_t& sc, std::uint8_t& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void decode_block(const BlockQ8_0& b, float out[32]) {
  const float d = f16_to_f32(b.d);
  for (int i = 0; i < 32; ++i) out[i] = d * static_cast<float>(b.qs[i]);
}

void decode_block(const BlockQ4_0& b, float out[32]) {
  const float d = f16_to_f32(b.d);
  for (int i = 0; i < 16; ++i) {
    out[i] = d * static_cast<float>((b.qs[i] & 0xF) - 8);
    out[i + 16] = d * static_cast<float>((b.qs[i] >> 4) - 8);
  }
}

void decode_block(const BlockQ4_K& b, float out[256]) {
  const float d = f16_to_f32(b.d);
  const float dmin = f16_to_f32(b.dmin);
  for (int j = 0; j < 4; ++j) {  // 64 weights: sub-blocks 2j (low nibbles) and 2j+1 (high)
    std::uint8_t sc0, m0, sc1, m1;
    q4_k_scale_min(b.scales, 2 * j, sc0, m0);
    q4_k_scale_min(b.scales, 2 * j + 1, sc1, m1);
    const std::uint8_t* q = b.qs + 32 * j;
    for (int l = 0; l < 32; ++l) {
      out[64 * j + l] = d * sc0 * static_cast<float>(q[l] & 0xF) - dmin * m0;
      out[64 * j + 32 + l] = d * sc1 * static_cast<float>(q[l] >> 4) - dmin * m1;
    }
  }
}

namespace {

template <typename Block, int N>
void decode_blocks(std::span<const std::byte> bytes, std::span<float> out) {
  for (std::size_t i = 0; i < out.size() / N; ++i) {
    Block b;
    std::memcpy(&b, bytes.data() + i * sizeof(Block), sizeof(Block));
    decode_block(b, out.data() + i * N);
  }
}

}  // namespace

void decode_to_f32(DType t, std::span<const std::byte> bytes, std::span<float> out) {
  const auto need = dtype_bytes(t, static_cast<std::int64_t>(out.size()));
  if (!dtype_is_float(t) || !need || *need != bytes.size()) {
    throw std::invalid_argument("decode_to_f32: " + std::to_string(bytes.size()) + " bytes of " +
                                std::string(dtype_name(t)) + " do not hold " +
                                std::to_string(out.size()) + " elements");
  }
  if (out.empty()) return;  // a zero-element tensor may have no data pointer at all
  switch (t) {
    case DType::kF32:
      std::memcpy(out.data(), bytes.data(), bytes.size());
      break;
    case DType::kF16:
    case DType::kBF16:
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        out[i] = t == DType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    case DType::kQ8_0:
      decode_blocks<BlockQ8_0, 32>(bytes, out);
      break;
    case DType::kQ4_0:
      decode_blocks<BlockQ4_0, 32>(bytes, out);
      break;
    case DType::kQ4_K:
      decode_blocks<BlockQ4_K, 256>(bytes, out);
      break;
    default:
      break;
  }
}

}  // namespace vkmoe
