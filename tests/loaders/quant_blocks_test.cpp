#include "loaders/quant_blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace vkmoe {
namespace {

TEST(Half, KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x3800), 0.5f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC040), -3.0f);
}

TEST(Half, RoundTripsEveryHalfAndRoundsToEven) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), h) << std::hex << h;
  }
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // halfway: to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // halfway: to even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);             // half the smallest: to even
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);      // halfway: to even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);  // halfway: to even
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
}

TEST(QuantBlocks, Q8_0ByHand) {
  BlockQ8_0 b{};
  b.d = 0x3800;  // 0.5
  const std::int8_t q[] = {-128, -1, 0, 1, 127};
  std::memcpy(b.qs, q, sizeof q);
  float out[32];
  decode_block(b, out);
  EXPECT_EQ(out[0], -64.0f);
  EXPECT_EQ(out[1], -0.5f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.5f);
  EXPECT_EQ(out[4], 63.5f);
  EXPECT_EQ(out[31], 0.0f);
}

TEST(QuantBlocks, Q4_0ByHand) {
  BlockQ4_0 b{};
  b.d = 0x4000;                   // 2.0
  for (auto& x : b.qs) x = 0x88;  // every code 8: zero
  b.qs[0] = 0x9F;  // low 15 → element 0 = (15 − 8)·2 = 14; high 9 → element 16 = 2
  b.qs[1] = 0x08;  // low 8 → element 1 = 0; high 0 → element 17 = −16
  float out[32];
  decode_block(b, out);
  EXPECT_EQ(out[0], 14.0f);
  EXPECT_EQ(out[16], 2.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[17], -16.0f);
  EXPECT_EQ(out[15], 0.0f);
}

TEST(QuantBlocks, Q4_KByHand) {
  // sub-block scales and mins (6 bits each), packed as ggml packs them: bytes 0-3 hold sc0-3 and
  // the top 2 bits of sc4-7; bytes 4-7 m0-3 and the top bits of m4-7; bytes 8-11 the low 4 bits
  // of sc4-7 (low nibble) and m4-7 (high nibble)
  const std::uint8_t sc[8] = {1, 2, 3, 4, 17, 5, 6, 63};
  const std::uint8_t m[8] = {0, 1, 2, 3, 33, 4, 5, 6};
  BlockQ4_K b{};
  b.d = 0x3C00;     // 1.0
  b.dmin = 0x3800;  // 0.5
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<std::uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = static_cast<std::uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
    b.scales[j + 8] = static_cast<std::uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
  for (int j = 0; j < 8; ++j) {
    std::uint8_t s, mm;
    q4_k_scale_min(b.scales, j, s, mm);
    EXPECT_EQ(s, sc[j]) << j;
    EXPECT_EQ(mm, m[j]) << j;
  }
  b.qs[0] = 0x25;    // element 0 (sub-block 0, q=5): 1·1·5 − 0.5·0 = 5
                     // element 32 (sub-block 1, q=2): 1·2·2 − 0.5·1 = 3.5
  b.qs[64] = 0x03;   // element 128 (sub-block 4, q=3): 17·3 − 0.5·33 = 34.5
                     // element 160 (sub-block 5, q=0): 0 − 0.5·4 = −2
  b.qs[127] = 0xF0;  // element 255 (sub-block 7, q=15): 63·15 − 0.5·6 = 942
  float out[256];
  decode_block(b, out);
  EXPECT_EQ(out[0], 5.0f);
  EXPECT_EQ(out[32], 3.5f);
  EXPECT_EQ(out[128], 34.5f);
  EXPECT_EQ(out[160], -2.0f);
  EXPECT_EQ(out[255], 942.0f);
  EXPECT_EQ(out[1], 0.0f);     // sub-block 0, q=0, m=0
  EXPECT_EQ(out[33], -0.5f);   // sub-block 1, q=0
  EXPECT_EQ(out[223], -2.5f);  // sub-block 6, q=0: −0.5·5
}

TEST(QuantBlocks, DecodeToF32AllTypes) {
  std::vector<std::byte> f16(4);
  const std::uint16_t h[2] = {0x3C00, 0xC000};
  std::memcpy(f16.data(), h, 4);
  std::vector<float> out(2);
  decode_to_f32(DType::kF16, f16, out);
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f}));
  const std::uint16_t bf[2] = {0x3F80, 0xC040};
  std::memcpy(f16.data(), bf, 4);
  decode_to_f32(DType::kBF16, f16, out);
  EXPECT_EQ(out, (std::vector<float>{1.0f, -3.0f}));

  // two Q8_0 blocks, unaligned in memory
  std::vector<std::byte> q(1 + 2 * 34);
  BlockQ8_0 b{};
  b.d = 0x4000;
  b.qs[5] = 3;
  std::memcpy(q.data() + 1, &b, 34);
  b.qs[5] = -3;
  std::memcpy(q.data() + 35, &b, 34);
  std::vector<float> o(64);
  decode_to_f32(DType::kQ8_0, std::span(q).subspan(1), o);
  EXPECT_EQ(o[5], 6.0f);
  EXPECT_EQ(o[37], -6.0f);
  EXPECT_THROW(decode_to_f32(DType::kQ8_0, std::span(q).subspan(1, 34), o), std::invalid_argument);
  EXPECT_THROW(decode_to_f32(DType::kI32, std::span(q).subspan(0, 8), std::span(o).first(2)),
               std::invalid_argument);
}

// A zero-element tensor may come with no data pointer at all (found by the GGUF fuzzer).
TEST(QuantBlocks, ZeroElementsWithoutData) {
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    EXPECT_NO_THROW(decode_to_f32(type, std::span<const std::byte>(), std::span<float>()));
  }
}

}  // namespace
}  // namespace vkmoe
