// The KFAC factor kernel (Σ x xᵀ over the rows routed to one expert) against a double loop
// over the routing a plain C++ router computes: odd sizes (scalar loads), multiples of 4
// (16-byte loads), accumulation, an expert nobody chose, rows with a stride, a list split over
// several dispatches, and guard words.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/ops/expert_gram.h"
#include "engine/ops/moe_router.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// f32 sums of up to ~3·10⁴ products against double: NMSE around 1e-11 at worst.
constexpr double kGramNmse = 1e-9;

struct GramCase {
  uint32_t tokens, experts, top_k, n, x_stride;
};

class ExpertGramTest : public GpuTest {
 protected:
  // Routes `tokens` random logits with moe_router, then checks expert_gram for every expert
  // (writing, then accumulating a second time) against the reference.
  void check(const GramCase& c, bool dead_last_expert) {
    const uint32_t rows = c.tokens * c.top_k;
    auto logits = random_floats(size_t{c.tokens} * c.experts, 71, -3.0f, 3.0f);
    if (dead_last_expert) {
      for (uint32_t t = 0; t < c.tokens; ++t) logits[size_t{t} * c.experts + c.experts - 1] = -60;
    }
    const auto x = random_floats(size_t{rows} * c.x_stride, 72);
    GuardedBuffer gl(context(), stream(), logits.size(), "logits");
    GuardedBuffer gw(context(), stream(), rows, "weights");
    GuardedBuffer gch(context(), stream(), rows, "choices");
    GuardedBuffer counts(context(), stream(), c.experts, "counts");
    GuardedBuffer lists(context(), stream(), size_t{c.experts} * c.tokens, "lists");
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    GuardedBuffer gram(context(), stream(), size_t{c.n} * c.n, "gram");
    gl.write(stream(), logits);
    gx.write(stream(), x);
    ops::moe_router(stream(), gl.span(), gw.span(), gch.span(), counts.span(), lists.span(),
                    {c.tokens, c.experts, c.top_k, false});

    for (uint32_t e = 0; e < c.experts; ++e) {
      // Reference: the entries t·top_k + j whose j-th choice is e (top-k by logit, ties to the
      // smaller id, as moe_router documents).
      std::vector<double> expected(size_t{c.n} * c.n, 0.0);
      for (uint32_t t = 0; t < c.tokens; ++t) {
        std::vector<uint32_t> order(c.experts);
        for (uint32_t i = 0; i < c.experts; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
          return logits[size_t{t} * c.experts + a] > logits[size_t{t} * c.experts + b];
        });
        for (uint32_t j = 0; j < c.top_k; ++j) {
          if (order[j] != e) continue;
          const float* row = &x[(size_t{t} * c.top_k + j) * c.x_stride];
          for (uint32_t i = 0; i < c.n; ++i) {
            for (uint32_t k = 0; k < c.n; ++k)
              expected[size_t{i} * c.n + k] += double(row[i]) * row[k];
          }
        }
      }
      ops::ExpertGramArgs args{.x = gx.span(),
                               .counts = counts.span(),
                               .lists = lists.span(),
                               .gram = gram.span(),
                               .expert = e,
                               .experts = c.experts,
                               .n = c.n,
                               .tokens = c.tokens,
                               .rows = rows,
                               .x_stride = c.x_stride};
      ops::expert_gram(stream(), args);
      const std::vector<float> once = gram.read(stream());
      args.accumulate = true;
      ops::expert_gram(stream(), args);
      const std::vector<float> twice = gram.read(stream());
      std::vector<float> want(expected.size()), want2(expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        want[i] = float(expected[i]);
        want2[i] = float(2 * expected[i]);
      }
      const bool empty =
          std::all_of(expected.begin(), expected.end(), [](double v) { return v == 0; });
      if (empty) {
        EXPECT_TRUE(std::all_of(once.begin(), once.end(), [](float v) { return v == 0; }))
            << "expert " << e << " has no rows: its factor is zero";
      } else {
        EXPECT_LE(nmse(once, want), kGramNmse) << "expert " << e;
        EXPECT_LE(nmse(twice, want2), kGramNmse) << "expert " << e << ", accumulated";
      }
    }
  }
};

TEST_F(ExpertGramTest, MatchesReferenceForEveryExpert) {
  check({37, 6, 2, 53, 53}, /*dead_last_expert=*/true);  // n not a multiple of any tile
}

TEST_F(ExpertGramTest, WideRowsAndStride) {
  check({20, 4, 4, 70, 75}, false);  // top-k = experts: every expert sees every token
}

// n and the stride multiples of 4: 16-byte loads, with a partial last tile (68 = 64 + 4).
TEST_F(ExpertGramTest, VectorLoadsWithPartialTile) {
  check({29, 5, 2, 68, 72}, false);
}

TEST_F(ExpertGramTest, SingleTokenDecodeShape) {
  check({1, 8, 2, 16, 16}, false);
}

// lavapipe bounds loop iterations: a list longer than the part one dispatch covers is split.
TEST_F(ExpertGramTest, LongListsSplitOverDispatches) {
  if (context().info().max_loop_iterations == 0) GTEST_SKIP() << "no loop bound on this device";
  const uint32_t part = context().info().max_loop_iterations / 2;
  const uint64_t before = stream().dispatch_count();
  check({part + 40, 1, 1, 8, 8}, false);
  EXPECT_GE(stream().dispatch_count() - before, 4u) << "two parts, written then accumulated";
}

TEST_F(ExpertGramTest, RejectsBadShapes) {
  vk::Buffer small = context().create_buffer(64, "small");
  EXPECT_THROW(ops::expert_gram(stream(), {.x = small.span(),
                                           .counts = small.span(),
                                           .lists = small.span(),
                                           .gram = small.span(),
                                           .expert = 0,
                                           .experts = 1,
                                           .n = 8,
                                           .tokens = 4,
                                           .rows = 4}),
               Error);
  EXPECT_THROW(ops::expert_gram(stream(), {.x = small.span(),
                                           .counts = small.span(),
                                           .lists = small.span(),
                                           .gram = small.span(),
                                           .expert = 2,
                                           .experts = 2,
                                           .n = 1,
                                           .tokens = 1,
                                           .rows = 1}),
               Error);
}

}  // namespace
}  // namespace vkmoe::test
