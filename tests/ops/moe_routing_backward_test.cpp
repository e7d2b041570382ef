// Backward of the MoE routing: moe_combine (out = Σ_j w_j · y_j) to the experts' outputs and
// weights, and the router (softmax → top-k → optional renormalisation) to the logits. The
// reference backward against finite differences of the reference forward (choices held
// fixed, double); the kernels, fed by the GPU forward router, against both.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <tuple>

#include "engine/ops/moe_router.h"
#include "engine/ops/moe_routing_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Case {
  uint32_t tokens, experts, top_k, columns;
  bool renormalise;
};

std::vector<double> probabilities(const std::vector<double>& logits, uint32_t t, uint32_t E) {
  std::vector<double> p(E);
  double top = -INFINITY, total = 0;
  for (uint32_t e = 0; e < E; ++e) top = std::max(top, logits[t * E + e]);
  for (uint32_t e = 0; e < E; ++e) total += p[e] = std::exp(logits[t * E + e] - top);
  for (double& v : p) v /= total;
  return p;
}

// The k largest probabilities of each token, ties to the smaller expert.
std::vector<uint32_t> top_choices(const Case& c, const std::vector<double>& logits) {
  std::vector<uint32_t> choices(size_t{c.tokens} * c.top_k);
  for (uint32_t t = 0; t < c.tokens; ++t) {
    const auto p = probabilities(logits, t, c.experts);
    std::vector<uint32_t> order(c.experts);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
    std::copy_n(order.begin(), c.top_k, choices.begin() + size_t{t} * c.top_k);
  }
  return choices;
}

std::vector<double> routing_weights(const Case& c, const std::vector<double>& logits,
                                    const std::vector<uint32_t>& choices) {
  std::vector<double> w(size_t{c.tokens} * c.top_k);
  for (uint32_t t = 0; t < c.tokens; ++t) {
    const auto p = probabilities(logits, t, c.experts);
    double sum = 0;
    for (uint32_t j = 0; j < c.top_k; ++j) sum += w[t * c.top_k + j] = p[choices[t * c.top_k + j]];
    for (uint32_t j = 0; c.renormalise && j < c.top_k; ++j) w[t * c.top_k + j] /= sum;
  }
  return w;
}

// out[t, c] = Σ_j w[t, j] y[t·k + j, c] as a function of [logits..., y...], choices fixed.
std::vector<double> routing_forward(const Case& c, const std::vector<double>& logits_y,
                                    const std::vector<uint32_t>& choices) {
  const size_t n_logits = size_t{c.tokens} * c.experts;
  const std::vector<double> logits(logits_y.begin(), logits_y.begin() + n_logits);
  const auto w = routing_weights(c, logits, choices);
  std::vector<double> out(size_t{c.tokens} * c.columns, 0.0);
  for (uint32_t t = 0; t < c.tokens; ++t) {
    for (uint32_t j = 0; j < c.top_k; ++j) {
      const size_t entry = size_t{t} * c.top_k + j;
      for (uint32_t col = 0; col < c.columns; ++col) {
        out[t * c.columns + col] += w[entry] * logits_y[n_logits + entry * c.columns + col];
      }
    }
  }
  return out;
}

struct Gradients {
  std::vector<double> d_logits, dy, d_weights;
};

Gradients routing_backward_reference(const Case& c, const std::vector<double>& logits,
                                     const std::vector<double>& y,
                                     const std::vector<uint32_t>& choices,
                                     const std::vector<double>& d_out) {
  const uint32_t K = c.top_k, E = c.experts, M = c.columns;
  const auto w = routing_weights(c, logits, choices);
  Gradients g{std::vector<double>(size_t{c.tokens} * E), std::vector<double>(y.size()),
              std::vector<double>(w.size(), 0.0)};
  for (uint32_t t = 0; t < c.tokens; ++t) {
    for (uint32_t j = 0; j < K; ++j) {
      const size_t entry = size_t{t} * K + j;
      for (uint32_t col = 0; col < M; ++col) {
        g.dy[entry * M + col] = w[entry] * d_out[t * M + col];
        g.d_weights[entry] += y[entry * M + col] * d_out[t * M + col];
      }
    }
    // Through the renormalisation to the chosen probabilities c_j, then the softmax.
    const auto p = probabilities(logits, t, E);
    double sum = 0, shift = 0;
    for (uint32_t j = 0; j < K; ++j) sum += p[choices[t * K + j]];
    for (uint32_t j = 0; j < K; ++j) shift += g.d_weights[t * K + j] * w[t * K + j];
    std::vector<double> dp(E, 0.0);
    for (uint32_t j = 0; j < K; ++j) {
      const double dw = g.d_weights[t * K + j];
      dp[choices[t * K + j]] += c.renormalise ? (dw - shift) / sum : dw;
    }
    double dot = 0;
    for (uint32_t e = 0; e < E; ++e) dot += p[e] * dp[e];
    for (uint32_t e = 0; e < E; ++e) g.d_logits[t * E + e] = p[e] * (dp[e] - dot);
  }
  return g;
}

std::vector<double> concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(MoeRoutingBackwardReference, MatchesFiniteDifferences) {
  for (bool renormalise : {false, true}) {
    const Case c{3, 6, 2, 4, renormalise};
    const auto logits = to_double(random_floats(size_t{c.tokens} * c.experts, 1, -2.0f, 2.0f));
    const auto y = to_double(random_floats(size_t{c.tokens} * c.top_k * c.columns, 2));
    const auto d_out = to_double(random_floats(size_t{c.tokens} * c.columns, 3));
    const auto choices = top_choices(c, logits);
    const auto fd = numeric_gradient(
        [&](const std::vector<double>& v) {
          return project(routing_forward(c, v, choices), d_out);
        },
        concat(logits, y));
    const Gradients g = routing_backward_reference(c, logits, y, choices, d_out);
    EXPECT_LE(max_relative_error(concat(g.d_logits, g.dy), fd), 1e-8) << renormalise;
  }
}

class MoeRoutingBackwardTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::RowReduction, Case>> {
 protected:
  void check(ops::RowReduction reduction, const Case& c);
  uint64_t dispatches = 0;  // of the last check's backward kernels
};

TEST_P(MoeRoutingBackwardTest, MatchesFiniteDifferencesAndReference) {
  const auto [reduction, c] = GetParam();
  check(reduction, c);
}

void MoeRoutingBackwardTest::check(ops::RowReduction reduction, const Case& c) {
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  const uint32_t T = c.tokens, E = c.experts, K = c.top_k, M = c.columns;
  const size_t entries = size_t{T} * K;
  const auto logits_f = random_floats(size_t{T} * E, E + K, -2.0f, 2.0f);
  const auto y_f = random_floats(entries * M, 5);
  const auto d_out_f = random_floats(size_t{T} * M, 6);
  GuardedBuffer logits(context(), stream(), logits_f.size(), "logits");
  GuardedBuffer weights(context(), stream(), entries, "weights");
  GuardedBuffer choices(context(), stream(), entries, "choices");
  GuardedBuffer counts(context(), stream(), E, "counts");
  GuardedBuffer lists(context(), stream(), size_t{E} * T, "lists");
  GuardedBuffer y(context(), stream(), y_f.size(), "y");
  GuardedBuffer d_out(context(), stream(), d_out_f.size(), "d_out");
  GuardedBuffer dy(context(), stream(), y_f.size(), "dy");
  GuardedBuffer d_weights(context(), stream(), entries, "d_weights");
  GuardedBuffer d_logits(context(), stream(), logits_f.size(), "d_logits");
  logits.write(stream(), logits_f);
  y.write(stream(), y_f);
  d_out.write(stream(), d_out_f);
  ops::moe_router(stream(), logits.span(), weights.span(), choices.span(), counts.span(),
                  lists.span(), {T, E, K, c.renormalise});
  const uint64_t before = stream().dispatch_count();
  ops::moe_combine_backward(stream(), {y.span(), weights.span(), d_out.span(), dy.span(),
                                       d_weights.span(), T, M, K, reduction});
  ops::moe_router_backward(stream(), {logits.span(), choices.span(), d_weights.span(),
                                      d_logits.span(), T, E, K, c.renormalise, reduction});

  dispatches = stream().dispatch_count() - before;
  const auto logits_d = to_double(logits_f), y_d = to_double(y_f), d_out_d = to_double(d_out_f);
  const auto expected_choices = top_choices(c, logits_d);
  const auto choice_bits = choices.read(stream());
  for (size_t i = 0; i < entries; ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(choice_bits[i]), expected_choices[i]) << "entry " << i;
  }
  // The reference forward is the shader's forward.
  EXPECT_LE(nmse_double(weights.read(stream()), routing_weights(c, logits_d, expected_choices)),
            1e-12);

  const Gradients g = routing_backward_reference(c, logits_d, y_d, expected_choices, d_out_d);
  const auto gpu_d_logits = d_logits.read(stream()), gpu_dy = dy.read(stream());
  EXPECT_LE(nmse_double(gpu_dy, g.dy), 1e-7);
  EXPECT_LE(nmse_double(d_weights.read(stream()), g.d_weights), 1e-7);
  EXPECT_LE(nmse_double(gpu_d_logits, g.d_logits), 1e-7);
  if (T * (E + K * M) <= 800) {
    const auto fd = numeric_gradient(
        [&](const std::vector<double>& v) {
          return project(routing_forward(c, v, expected_choices), d_out_d);
        },
        concat(logits_d, y_d));
    std::vector<float> gpu = gpu_d_logits;
    gpu.insert(gpu.end(), gpu_dy.begin(), gpu_dy.end());
    EXPECT_LE(max_relative_error(gpu, fd), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MoeRoutingBackwardTest,
    ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                         ops::RowReduction::subgroup),
                       ::testing::Values(Case{1, 1, 1, 1, false}, Case{5, 8, 2, 13, false},
                                         Case{5, 8, 2, 13, true}, Case{4, 60, 4, 20, true},
                                         Case{9, 300, 6, 300, true})));

TEST_F(MoeRoutingBackwardTest, RejectsBadShapes) {
  vk::Buffer b = context().create_buffer(4096, "b");
  const vk::BufferSpan s = b.span();
  EXPECT_THROW(ops::moe_router_backward(stream(), {s, s, s, s, 2, 4, 5}), Error);  // k > E
  EXPECT_THROW(ops::moe_router_backward(
                   stream(), {s.sub(0, 64), s.sub(64, 64), s.sub(128, 64), s.sub(0, 64), 2, 8, 2}),
               Error);  // d_logits over logits
  EXPECT_THROW(ops::moe_combine_backward(stream(), {s, s, s, s, s, 2, 8, 2}), Error);
}

class MoeRoutingBackwardSmallBindingTest : public MoeRoutingBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    MoeRoutingBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

// A 2 KiB binding limit: moe_combine_backward takes 4 tokens (480 bytes of y each) at a time,
// so 9 tokens need 3 dispatches, and the router backward one.
TEST_F(MoeRoutingBackwardSmallBindingTest, SplitsTokens) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  check(ops::RowReduction::automatic, {9, 20, 3, 40, true});
  EXPECT_EQ(dispatches, 4u);
}

}  // namespace
}  // namespace vkmoe::test
