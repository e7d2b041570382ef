// RoPE backward (rotation by −angle): the C++ reference backward against finite differences
// of the reference forward (double), the kernel against both, with a partial rotary
// dimension (the tail's gradient passes through), in place, and large positions.
#include <algorithm>
#include <bit>
#include <cmath>

#include "engine/ops/rope_backward.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// Rotates every head of x [tokens, heads, head_dim] by sign · angle, angle in f32 as HF.
std::vector<double> rotate(const std::vector<double>& x, const ops::RopeShape& s,
                           const std::vector<uint32_t>& positions,
                           const std::vector<float>& inv_freq, double sign) {
  std::vector<double> y = x;
  const uint32_t half = s.rotary_dim / 2;
  for (uint32_t t = 0; t < s.tokens; ++t) {
    for (uint32_t h = 0; h < s.heads; ++h) {
      const size_t base = (size_t{t} * s.heads + h) * s.head_dim;
      for (uint32_t i = 0; i < half; ++i) {
        const double angle = static_cast<float>(positions[t]) * inv_freq[i];
        const double c = std::cos(angle), sn = sign * std::sin(angle);
        y[base + i] = x[base + i] * c - x[base + i + half] * sn;
        y[base + i + half] = x[base + i + half] * c + x[base + i] * sn;
      }
    }
  }
  return y;
}

class RopeBackwardTest : public GpuTest {
 protected:
  void check(const ops::RopeShape& s, uint32_t max_position, bool in_place) {
    const size_t count = size_t{s.tokens} * s.heads * s.head_dim;
    const auto dy = random_floats(count, s.head_dim, -2.0f, 2.0f);
    std::vector<uint32_t> positions(s.tokens);
    for (uint32_t t = 0; t < s.tokens; ++t) positions[t] = (t * 7919u) % max_position;
    positions.back() = max_position - 1;
    const auto inv_freq = ops::rope_inv_freq(10000.0f, s.rotary_dim);
    std::vector<float> position_words(s.tokens);
    std::transform(positions.begin(), positions.end(), position_words.begin(),
                   [](uint32_t p) { return std::bit_cast<float>(p); });
    GuardedBuffer gdy(context(), stream(), count, "dy");
    GuardedBuffer gdx(context(), stream(), count, "dx");
    GuardedBuffer gp(context(), stream(), s.tokens, "positions");
    GuardedBuffer gf(context(), stream(), inv_freq.size(), "inv_freq");
    gdy.write(stream(), dy);
    gp.write(stream(), position_words);
    gf.write(stream(), inv_freq);
    const GuardedBuffer& out = in_place ? gdy : gdx;
    ops::rope_backward(stream(), s, {gdy.span()}, gp.span(), gf.span(), {out.span()});
    const std::vector<float> dx = out.read(stream());

    const auto dyd = to_double(dy);
    const auto expected = rotate(dyd, s, positions, inv_freq, -1.0);
    EXPECT_LE(nmse_double(dx, expected), 1e-7) << "in place " << in_place;
    if (count <= 400) {
      const auto x = to_double(random_floats(count, 3));
      const auto fd = numeric_gradient(
          [&](const std::vector<double>& v) {
            return project(rotate(v, s, positions, inv_freq, 1.0), dyd);
          },
          x);
      EXPECT_LE(max_relative_error(expected, fd), 1e-8) << "reference";
      EXPECT_LE(max_relative_error(dx, fd), 1e-5) << "kernel, in place " << in_place;
    }
  }
};

TEST_F(RopeBackwardTest, MatchesFiniteDifferencesAndReference) {
  check({3, 2, 16, 16}, 50, false);
  check({4, 3, 10, 6}, 2000, false);  // partial rotary: the tail's gradient passes through
  check({3, 2, 16, 16}, 50, true);
  check({4, 3, 10, 6}, 2000, true);
  check({37, 5, 64, 64}, 32768, false);
}

// The forward followed by the backward is the identity (the rotation is orthogonal).
TEST_F(RopeBackwardTest, UndoesTheForward) {
  const ops::RopeShape s{9, 4, 32, 24};
  const size_t count = size_t{s.tokens} * s.heads * s.head_dim;
  const auto x = random_floats(count, 8);
  std::vector<float> position_words(s.tokens);
  for (uint32_t t = 0; t < s.tokens; ++t) position_words[t] = std::bit_cast<float>(t * 1000u);
  const auto inv_freq = ops::rope_inv_freq(1e6f, s.rotary_dim);
  GuardedBuffer gx(context(), stream(), count, "x");
  GuardedBuffer gy(context(), stream(), count, "y");
  GuardedBuffer gp(context(), stream(), s.tokens, "positions");
  GuardedBuffer gf(context(), stream(), inv_freq.size(), "inv_freq");
  gx.write(stream(), x);
  gp.write(stream(), position_words);
  gf.write(stream(), inv_freq);
  ops::rope(stream(), s, {gx.span()}, gp.span(), gf.span(), {gy.span()});
  ops::rope_backward(stream(), s, {gy.span()}, gp.span(), gf.span(), {gy.span()});
  EXPECT_LE(nmse(gy.read(stream()), x), 1e-12);
}

}  // namespace
}  // namespace vkmoe::test
