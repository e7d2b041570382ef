// Attention (prefill and split-K decode) against a plain causal softmax(QKᵀ)V in double.
#include <cmath>

#include "engine/ops/attention.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Case {
  uint32_t queries, first_position, q_heads, kv_heads, head_dim;
};

// out[t, h, :] = Σ_s softmax_s(q·k_s / sqrt(D)) v_s over s ≤ first_position + t, packed layouts.
std::vector<float> reference_attention(const Case& c, const std::vector<float>& q,
                                       const std::vector<float>& k, const std::vector<float>& v) {
  const uint32_t D = c.head_dim;
  std::vector<float> out(size_t{c.queries} * c.q_heads * D);
  for (uint32_t t = 0; t < c.queries; ++t) {
    for (uint32_t h = 0; h < c.q_heads; ++h) {
      const uint32_t g = h / (c.q_heads / c.kv_heads);
      const uint32_t visible = c.first_position + t + 1;
      std::vector<double> score(visible);
      double top = -INFINITY;
      for (uint32_t s = 0; s < visible; ++s) {
        double dot = 0;
        for (uint32_t d = 0; d < D; ++d) {
          dot += double(q[(size_t{t} * c.q_heads + h) * D + d]) *
                 k[(size_t{s} * c.kv_heads + g) * D + d];
        }
        score[s] = dot / std::sqrt(double(D));
        top = std::max(top, score[s]);
      }
      double total = 0;
      for (double& sc : score) total += (sc = std::exp(sc - top));
      for (uint32_t d = 0; d < D; ++d) {
        double acc = 0;
        for (uint32_t s = 0; s < visible; ++s)
          acc += score[s] * v[(size_t{s} * c.kv_heads + g) * D + d];
        out[(size_t{t} * c.q_heads + h) * D + d] = float(acc / total);
      }
    }
  }
  return out;
}

class AttentionTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(AttentionTest, MatchesReference) {
  const Case c = GetParam();
  const uint32_t positions = c.first_position + c.queries;
  const auto q = random_floats(size_t{c.queries} * c.q_heads * c.head_dim, 11, -2.0f, 2.0f);
  const auto k = random_floats(size_t{positions} * c.kv_heads * c.head_dim, 12, -2.0f, 2.0f);
  const auto v = random_floats(size_t{positions} * c.kv_heads * c.head_dim, 13);
  GuardedBuffer gq(context(), stream(), q.size(), "q");
  GuardedBuffer gk(context(), stream(), k.size(), "k_cache");
  GuardedBuffer gv(context(), stream(), v.size(), "v_cache");
  GuardedBuffer out(context(), stream(), q.size(), "out");
  gq.write(stream(), q);
  gk.write(stream(), k);
  gv.write(stream(), v);
  const auto shape =
      ops::AttentionShape::packed(c.queries, c.first_position, c.q_heads, c.kv_heads, c.head_dim);
  const uint64_t scratch_bytes =
      std::max<uint64_t>(ops::attention_scratch_bytes(context().info(), shape), 4);
  GuardedBuffer scratch(context(), stream(), scratch_bytes / 4, "scratch");
  ops::attention(stream(), gq.span(), gk.span(), gv.span(), out.span(), scratch.span(), shape);
  EXPECT_LE(nmse(out.read(stream()), reference_attention(c, q, k, v)), 1e-7);
  scratch.read(stream());  // guard words of the split-K partials
}

std::string case_name(const ::testing::TestParamInfo<Case>& test) {
  const Case& c = test.param;
  return "t" + std::to_string(c.queries) + "_p" + std::to_string(c.first_position) + "_h" +
         std::to_string(c.q_heads) + "x" + std::to_string(c.kv_heads) + "_d" +
         std::to_string(c.head_dim);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionTest,
    ::testing::Values(Case{1, 0, 2, 2, 8},        // decode of the very first token
                      Case{1, 6, 4, 2, 16},       // decode, grouped-query heads
                      Case{1, 600, 4, 1, 64},     // decode over three split-K pieces
                      Case{7, 0, 2, 2, 8},        // a prompt of 7
                      Case{64, 0, 4, 2, 32},      // a prompt of 64: two row blocks
                      Case{33, 5, 3, 1, 12},      // continuing after 5 cached tokens, odd sizes
                      Case{5, 40, 2, 2, 128},     // a long head, keys across several tiles
                      Case{16, 1000, 2, 1, 128},  // past lavapipe's loop limit: key segments
                      Case{1, 5000, 2, 2, 64}),   // decode over a long cache
    case_name);

// Strided views: q and k/v inside one fused [tokens, q_heads + 2 * kv_heads, D] tensor.
TEST_F(AttentionTest, StridedViewsIntoAFusedTensor) {
  const Case c{9, 0, 4, 2, 16};
  const uint32_t D = c.head_dim, width = (c.q_heads + 2 * c.kv_heads) * D;
  const auto fused = random_floats(size_t{c.queries} * width, 21, -2.0f, 2.0f);
  std::vector<float> q, k, v;
  for (uint32_t t = 0; t < c.queries; ++t) {
    const float* row = fused.data() + size_t{t} * width;
    q.insert(q.end(), row, row + c.q_heads * D);
    k.insert(k.end(), row + c.q_heads * D, row + (c.q_heads + c.kv_heads) * D);
    v.insert(v.end(), row + (c.q_heads + c.kv_heads) * D, row + width);
  }
  GuardedBuffer gf(context(), stream(), fused.size(), "qkv");
  GuardedBuffer out(context(), stream(), q.size(), "out");
  gf.write(stream(), fused);
  ops::AttentionShape shape = ops::AttentionShape::packed(c.queries, 0, c.q_heads, c.kv_heads, D);
  shape.q_token_stride = shape.kv_token_stride = width;
  const vk::BufferSpan all = gf.span();
  const uint64_t k_offset = uint64_t{c.q_heads} * D * 4,
                 v_offset = k_offset + uint64_t{c.kv_heads} * D * 4;
  ops::attention(stream(), all, all.sub(k_offset, all.size - k_offset),
                 all.sub(v_offset, all.size - v_offset), out.span(), {}, shape);
  EXPECT_LE(nmse(out.read(stream()), reference_attention(c, q, k, v)), 1e-7);
}

TEST_F(AttentionTest, RejectsACacheShorterThanThePositions) {
  // 4 new tokens after 100 cached ones need 104 positions of 2 heads x 16 floats (13 KiB).
  GuardedBuffer buffer(context(), stream(), 256, "buffer");
  const auto shape = ops::AttentionShape::packed(4, 100, 2, 2, 16);
  EXPECT_THROW(ops::attention(stream(), buffer.span(), buffer.span(), buffer.span(), buffer.span(),
                              buffer.span(), shape),
               Error);
}

}  // namespace
}  // namespace vkmoe::test
