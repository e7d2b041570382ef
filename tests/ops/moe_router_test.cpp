// The fused router against a plain softmax + top-k + renormalisation in double, and its
// per-expert routing lists against the choices.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/ops/moe_router.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct RouterCase {
  uint32_t tokens, experts, top_k;
  bool renormalise;
  bool ties;  // logits drawn from a few values, so equal probabilities are common
};

struct Routed {
  std::vector<float> weights;
  std::vector<uint32_t> choices;
};

Routed reference_route(const RouterCase& c, const std::vector<float>& logits) {
  Routed out;
  for (uint32_t t = 0; t < c.tokens; ++t) {
    const float* row = logits.data() + size_t{t} * c.experts;
    double top = -INFINITY;
    for (uint32_t e = 0; e < c.experts; ++e) top = std::max(top, double(row[e]));
    std::vector<double> p(c.experts);
    double total = 0;
    for (uint32_t e = 0; e < c.experts; ++e) total += (p[e] = std::exp(double(row[e]) - top));
    for (double& v : p) v /= total;
    std::vector<uint32_t> order(c.experts);
    for (uint32_t e = 0; e < c.experts; ++e) order[e] = e;
    // Larger probability first; among equal ones the smaller expert id.
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
    double chosen = 0;
    for (uint32_t j = 0; j < c.top_k; ++j) chosen += p[order[j]];
    for (uint32_t j = 0; j < c.top_k; ++j) {
      out.choices.push_back(order[j]);
      out.weights.push_back(float(c.renormalise ? p[order[j]] / chosen : p[order[j]]));
    }
  }
  return out;
}

class MoeRouterTest : public GpuTest, public ::testing::WithParamInterface<RouterCase> {};

TEST_P(MoeRouterTest, MatchesReference) {
  const RouterCase c = GetParam();
  std::vector<float> logits = random_floats(size_t{c.tokens} * c.experts, 31, -4.0f, 4.0f);
  if (c.ties) {
    for (float& v : logits) v = std::round(v);  // 9 distinct values
  }
  const uint32_t entries = c.tokens * c.top_k;
  GuardedBuffer glogits(context(), stream(), logits.size(), "logits");
  GuardedBuffer weights(context(), stream(), entries, "weights");
  GuardedBuffer choices(context(), stream(), entries, "choices");
  GuardedBuffer counts(context(), stream(), c.experts, "counts");
  GuardedBuffer lists(context(), stream(), size_t{c.experts} * c.tokens, "lists");
  glogits.write(stream(), logits);
  ops::moe_router(stream(), glogits.span(), weights.span(), choices.span(), counts.span(),
                  lists.span(), {c.tokens, c.experts, c.top_k, c.renormalise});

  const Routed expected = reference_route(c, logits);
  const std::vector<float> got_weights = weights.read(stream());
  const auto as_u32 = [](const std::vector<float>& v) {
    std::vector<uint32_t> out(v.size());
    std::memcpy(out.data(), v.data(), v.size() * 4);
    return out;
  };
  const std::vector<uint32_t> got_choices = as_u32(choices.read(stream()));
  const std::vector<uint32_t> got_counts = as_u32(counts.read(stream()));
  const std::vector<uint32_t> got_lists = as_u32(lists.read(stream()));
  ASSERT_EQ(got_choices, expected.choices);
  EXPECT_LE(nmse(got_weights, expected.weights), 1e-7);

  // Each expert's list holds exactly the entries t * k + j whose choice is that expert.
  for (uint32_t e = 0; e < c.experts; ++e) {
    std::vector<uint32_t> want;
    for (uint32_t i = 0; i < entries; ++i) {
      if (expected.choices[i] == e) want.push_back(i);
    }
    ASSERT_EQ(got_counts[e], want.size()) << "expert " << e;
    std::vector<uint32_t> list(got_lists.begin() + size_t{e} * c.tokens,
                               got_lists.begin() + size_t{e} * c.tokens + got_counts[e]);
    std::sort(list.begin(), list.end());
    EXPECT_EQ(list, want) << "expert " << e;
  }
}

std::string router_case_name(const ::testing::TestParamInfo<RouterCase>& test) {
  const RouterCase& c = test.param;
  return "t" + std::to_string(c.tokens) + "_e" + std::to_string(c.experts) + "_k" +
         std::to_string(c.top_k) + (c.renormalise ? "_norm" : "") + (c.ties ? "_ties" : "");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MoeRouterTest,
    ::testing::Values(RouterCase{1, 8, 2, false, false},    // one token (decode)
                      RouterCase{7, 60, 4, false, false},   // Qwen1.5-MoE: 60 experts, top-4
                      RouterCase{64, 64, 6, true, false},   // DeepSeek-MoE: 64 experts, top-6
                      RouterCase{33, 8, 1, true, false},    // top-1 renormalised: weight 1
                      RouterCase{9, 16, 16, true, false},   // top-k = every expert
                      RouterCase{40, 130, 8, false, true},  // > 64 experts per lane, ties
                      RouterCase{5, 3, 2, false, true}),    // fewer experts than lanes
    router_case_name);

TEST_F(MoeRouterTest, RejectsTopKAboveExperts) {
  GuardedBuffer buffer(context(), stream(), 1024, "buffer");
  EXPECT_THROW(ops::moe_router(stream(), buffer.span(), buffer.span(), buffer.span(), buffer.span(),
                               buffer.span(), {2, 4, 5, false}),
               Error);
}

}  // namespace
}  // namespace vkmoe::test
