// RoPE against a plain C++ reference written from Hugging Face's rotary embedding:
//   freqs = position_ids.float() * inv_freq (f32); emb = cat(freqs, freqs)
//   q_embed = q * emb.cos() + rotate_half(q) * emb.sin(), rotate_half(x) = cat(-x2, x1)
// with partial rotary dims, in place views inside a fused qkv tensor, and large positions.
#include <algorithm>
#include <bit>
#include <cmath>
#include <random>

#include "engine/ops/rope.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct View {  // [tokens, heads, head_dim] at `first` with strides, all in floats
  size_t first, token_stride, head_stride;
};

// Writes the rotated heads of `x` into `out` (which holds everything else already).
void reference(const std::vector<float>& x, View xv, std::vector<float>& out, View ov,
               const ops::RopeShape& s, const std::vector<uint32_t>& positions,
               const std::vector<float>& inv_freq) {
  const uint32_t half = s.rotary_dim / 2;
  for (uint32_t t = 0; t < s.tokens; ++t) {
    for (uint32_t h = 0; h < s.heads; ++h) {
      const float* in = x.data() + xv.first + t * xv.token_stride + h * xv.head_stride;
      float* y = out.data() + ov.first + t * ov.token_stride + h * ov.head_stride;
      std::vector<float> rotated(in, in + s.head_dim);
      for (uint32_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(positions[t]) * inv_freq[i];  // f32, as HF
        const double c = std::cos(double{angle}), sn = std::sin(double{angle});
        rotated[i] = static_cast<float>(in[i] * c - in[i + half] * sn);
        rotated[i + half] = static_cast<float>(in[i + half] * c + in[i] * sn);
      }
      std::copy(rotated.begin(), rotated.end(), y);
    }
  }
}

std::vector<float> as_floats(const std::vector<uint32_t>& words) {
  std::vector<float> floats(words.size());
  std::transform(words.begin(), words.end(), floats.begin(),
                 [](uint32_t w) { return std::bit_cast<float>(w); });
  return floats;
}

std::vector<uint32_t> random_positions(uint32_t tokens, uint32_t limit, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<uint32_t> positions(tokens);
  for (uint32_t& p : positions) p = static_cast<uint32_t>(generator() % limit);
  if (tokens > 1) positions[0] = 0, positions[1] = limit - 1;
  return positions;
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

class RopeTest : public GpuTest {
 protected:
  // Contiguous x -> contiguous out, compared with the reference.
  void check_contiguous(const ops::RopeShape& requested, float theta, uint32_t max_position) {
    ops::RopeShape s = requested;
    if (s.rotary_dim == 0) s.rotary_dim = s.head_dim;  // the reference's reading of 0
    const size_t count = size_t{s.tokens} * s.heads * s.head_dim;
    const auto x = random_floats(count, s.head_dim, -2.0f, 2.0f);
    const auto positions = random_positions(s.tokens, max_position, s.tokens);
    const auto inv_freq = ops::rope_inv_freq(theta, s.rotary_dim);
    GuardedBuffer gx(context(), stream(), count, "x");
    GuardedBuffer gp(context(), stream(), s.tokens, "positions");
    GuardedBuffer gf(context(), stream(), inv_freq.size(), "inv_freq");
    GuardedBuffer out(context(), stream(), count, "out");
    gx.write(stream(), x);
    gp.write(stream(), as_floats(positions));
    gf.write(stream(), inv_freq);
    ops::rope(stream(), requested, {gx.span()}, gp.span(), gf.span(), {out.span()});
    std::vector<float> want(count);
    const View contiguous{0, size_t{s.heads} * s.head_dim, s.head_dim};
    reference(x, contiguous, want, contiguous, s, positions, inv_freq);
    const std::vector<float> got = out.read(stream());
    EXPECT_LE(nmse(got, want), 1e-7);
    EXPECT_LE(max_abs_difference(got, want), 1e-5);
  }
};

// inv_freq as HF computes it, to within f32 rounding of theta^(-2i/d).
TEST(RopeInvFreq, MatchesTheFormula) {
  for (const float theta : {10000.0f, 1000000.0f}) {
    const auto inv_freq = ops::rope_inv_freq(theta, 128);
    ASSERT_EQ(inv_freq.size(), 64u);
    for (uint32_t i = 0; i < 64; ++i) {
      const double want = std::pow(double{theta}, -2.0 * i / 128.0);
      EXPECT_NEAR(inv_freq[i], want, want * 1e-6) << "i " << i << " theta " << theta;
    }
  }
}

TEST_F(RopeTest, FullRotary) {
  check_contiguous({7, 3, 64, 64}, 10000.0f, 32768);
}
TEST_F(RopeTest, PartialRotary) {
  check_contiguous({5, 2, 80, 32}, 1000000.0f, 4096);
}
TEST_F(RopeTest, RotaryDimZeroMeansHeadDim) {
  check_contiguous({3, 1, 18, 0}, 10000.0f, 100);
}
TEST_F(RopeTest, SingleTokenSingleHead) {
  check_contiguous({1, 1, 2, 2}, 10000.0f, 1);
}
// Angles up to ~2e5 rad at the highest frequency exercise the range reduction.
TEST_F(RopeTest, LargePositions) {
  check_contiguous({300, 1, 8, 8}, 10000.0f, 200000);
}
// More work items than one workgroup, not a multiple of its size.
TEST_F(RopeTest, ManyTokens) {
  check_contiguous({97, 5, 34, 34}, 10000.0f, 8192);
}

// q and k rotated in place inside a fused qkv [tokens, (q_heads + 2 kv_heads) * head_dim]
// tensor; k starts 54 floats in, which is not a multiple of the binding alignment; v is left
// alone.
TEST_F(RopeTest, InPlaceViewsOfFusedQkv) {
  const uint32_t tokens = 6, q_heads = 3, kv_heads = 2, head_dim = 18;
  const uint32_t token_stride = (q_heads + 2 * kv_heads) * head_dim;
  const size_t count = size_t{tokens} * token_stride;
  const auto qkv = random_floats(count, 21, -1.0f, 1.0f);
  const auto positions = random_positions(tokens, 2048, 22);
  const auto inv_freq = ops::rope_inv_freq(10000.0f, head_dim);
  GuardedBuffer gqkv(context(), stream(), count, "qkv");
  GuardedBuffer gp(context(), stream(), tokens, "positions");
  GuardedBuffer gf(context(), stream(), inv_freq.size(), "inv_freq");
  gqkv.write(stream(), qkv);
  gp.write(stream(), as_floats(positions));
  gf.write(stream(), inv_freq);

  const size_t k_first = size_t{q_heads} * head_dim;
  const ops::RopeTensor q{gqkv.span(), token_stride, head_dim};
  const ops::RopeTensor k{gqkv.span().sub(k_first * 4, (count - k_first) * 4), token_stride,
                          head_dim};
  ops::rope(stream(), {tokens, q_heads, head_dim, head_dim}, q, gp.span(), gf.span(), q);
  ops::rope(stream(), {tokens, kv_heads, head_dim, head_dim}, k, gp.span(), gf.span(), k);

  std::vector<float> want = qkv;
  reference(qkv, {0, token_stride, head_dim}, want, {0, token_stride, head_dim},
            {tokens, q_heads, head_dim, head_dim}, positions, inv_freq);
  reference(qkv, {k_first, token_stride, head_dim}, want, {k_first, token_stride, head_dim},
            {tokens, kv_heads, head_dim, head_dim}, positions, inv_freq);
  const std::vector<float> got = gqkv.read(stream());
  EXPECT_LE(nmse(got, want), 1e-7);
  for (uint32_t t = 0; t < tokens; ++t) {  // v untouched, bit for bit
    for (uint32_t j = (q_heads + kv_heads) * head_dim; j < token_stride; ++j) {
      ASSERT_EQ(got[t * token_stride + j], qkv[t * token_stride + j]) << "v at " << t << "," << j;
    }
  }
}

// Out of place with a strided input (k inside qkv) and partial rotary: the passed-through
// tail is copied.
TEST_F(RopeTest, StridedInputPartialRotaryOutOfPlace) {
  const ops::RopeShape s{4, 2, 16, 8};
  const uint32_t token_stride = 3 * s.heads * s.head_dim;  // q, k, v of equal size
  const size_t count = size_t{s.tokens} * token_stride, k_first = size_t{s.heads} * s.head_dim;
  const auto qkv = random_floats(count, 31);
  const auto positions = random_positions(s.tokens, 500, 32);
  const auto inv_freq = ops::rope_inv_freq(10000.0f, s.rotary_dim);
  GuardedBuffer gqkv(context(), stream(), count, "qkv");
  GuardedBuffer gp(context(), stream(), s.tokens, "positions");
  GuardedBuffer gf(context(), stream(), inv_freq.size(), "inv_freq");
  const size_t out_count = size_t{s.tokens} * s.heads * s.head_dim;
  GuardedBuffer out(context(), stream(), out_count, "out");
  gqkv.write(stream(), qkv);
  gp.write(stream(), as_floats(positions));
  gf.write(stream(), inv_freq);
  const ops::RopeTensor k{gqkv.span().sub(k_first * 4, (count - k_first) * 4), token_stride,
                          s.head_dim};
  ops::rope(stream(), s, k, gp.span(), gf.span(), {out.span()});
  std::vector<float> want(out_count);
  reference(qkv, {k_first, token_stride, s.head_dim}, want,
            {0, size_t{s.heads} * s.head_dim, s.head_dim}, s, positions, inv_freq);
  EXPECT_LE(nmse(out.read(stream()), want), 1e-7);
}

TEST_F(RopeTest, RejectsBadShapes) {
  GuardedBuffer gx(context(), stream(), 64, "x");
  GuardedBuffer gp(context(), stream(), 4, "positions");
  GuardedBuffer gf(context(), stream(), 8, "inv_freq");
  GuardedBuffer out(context(), stream(), 64, "out");
  const ops::RopeTensor x{gx.span()}, y{out.span()};
  EXPECT_THROW(ops::rope(stream(), {4, 1, 16, 7}, x, gp.span(), gf.span(), y), Error);   // odd
  EXPECT_THROW(ops::rope(stream(), {4, 1, 16, 18}, x, gp.span(), gf.span(), y), Error);  // > hd
  EXPECT_THROW(ops::rope(stream(), {5, 1, 16, 16}, x, gp.span(), gf.span(), y), Error);  // x
  EXPECT_THROW(ops::rope(stream(), {2, 2, 16, 16}, x, gp.span().sub(0, 4), gf.span(), y), Error);
  EXPECT_THROW(ops::rope(stream(), {4, 1, 16, 16}, x, gp.span(), gf.span().sub(0, 16), y), Error);
  EXPECT_THROW(
      ops::rope(stream(), {2, 1, 16, 16}, x, gp.span(), gf.span(), {gx.span().sub(4, 128)}),
      Error);  // partial overlap
}

}  // namespace
}  // namespace vkmoe::test
