// ggml's block formats for the quantized types we read, and conversions to f32. The layouts are
// ggml's (ggml-common.h); the GPU decoders in shaders/ must agree with these, which the tests
// check on hand-made blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "loaders/dtype.h"

namespace vkmoe {

float f16_to_f32(std::uint16_t h);
float bf16_to_f32(std::uint16_t b);
std::uint16_t f32_to_f16(float f);   // round to nearest even; overflow → inf
std::uint16_t f32_to_bf16(float f);  // round to nearest even; NaN stays NaN

// 32 weights: x[i] = d · qs[i].
struct BlockQ8_0 {
  std::uint16_t d;  // f16 scale
  std::int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

// 32 weights: x[i] = d · ((qs[i] & 0xF) − 8), x[i + 16] = d · ((qs[i] >> 4) − 8), i < 16.
struct BlockQ4_0 {
  std::uint16_t d;
  std::uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

// 256 weights in 8 sub-blocks of 32, each with a 6-bit scale sc and 6-bit min m packed in
// `scales`: x = d · sc · q − dmin · m with 4-bit q. Sub-blocks 2j and 2j+1 share qs[32j..32j+31]
// (low nibbles for 2j, high nibbles for 2j+1).
struct BlockQ4_K {
  std::uint16_t d;     // f16 super-block scale for the scales
  std::uint16_t dmin;  // f16 super-block scale for the mins
  std::uint8_t scales[12];
  std::uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K block.
void q4_k_scale_min(const std::uint8_t scales[12], int j, std::uint8_t& sc, std::uint8_t& m);

void decode_block(const BlockQ8_0& b, float out[32]);
void decode_block(const BlockQ4_0& b, float out[32]);
void decode_block(const BlockQ4_K& b, float out[256]);

// Decodes `out.size()` elements of type `t` (float types only) stored in `bytes`. Throws
// std::invalid_argument when the sizes do not match.
void decode_to_f32(DType t, std::span<const std::byte> bytes, std::span<float> out);

}  // namespace vkmoe
