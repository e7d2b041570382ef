// The KFAC factor kernel (Σ x xᵀ over the rows routed to each expert, every expert in one call)
// against a double loop over the routing a plain C++ router computes: odd sizes (scalar loads),
// multiples of 4 (16-byte loads), accumulation, an expert nobody chose, rows with a stride,
// several passes, a run of experts, a list split over several dispatches, and guard words.
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
  uint32_t passes = 1;
  uint32_t expert_first = 0, expert_count = 0;  // the run of experts one call covers; 0: all
};

class ExpertGramTest : public GpuTest {
 protected:
  // Routes `tokens` random logits with moe_router, then checks one expert_gram call over the
  // case's experts (writing, then accumulating a second time) against the reference, and that
  // the matrices of the other experts in the buffer are untouched.
  void check(const GramCase& c, bool dead_last_expert) {
    const uint32_t rows = c.tokens * c.top_k;
    const uint32_t count = c.expert_count ? c.expert_count : c.experts - c.expert_first;
    auto logits = random_floats(size_t{c.tokens} * c.experts, 71, -3.0f, 3.0f);
    if (dead_last_expert) {
      for (uint32_t t = 0; t < c.tokens; ++t) logits[size_t{t} * c.experts + c.experts - 1] = -60;
    }
    const auto x = random_floats(size_t{rows} * c.passes * c.x_stride, 72);
    GuardedBuffer gl(context(), stream(), logits.size(), "logits");
    GuardedBuffer gw(context(), stream(), rows, "weights");
    GuardedBuffer gch(context(), stream(), rows, "choices");
    GuardedBuffer counts(context(), stream(), c.experts, "counts");
    GuardedBuffer lists(context(), stream(), size_t{c.experts} * c.tokens, "lists");
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    const size_t matrix = size_t{c.n} * c.n;
    GuardedBuffer gram(context(), stream(), matrix * count, "gram");
    gl.write(stream(), logits);
    gx.write(stream(), x);
    ops::moe_router(stream(), gl.span(), gw.span(), gch.span(), counts.span(), lists.span(),
                    {c.tokens, c.experts, c.top_k, false});

    // Reference: the entries t·top_k + j whose j-th choice is e (top-k by logit, ties to the
    // smaller id, as moe_router documents), in every pass.
    std::vector<double> expected(matrix * count, 0.0);
    for (uint32_t t = 0; t < c.tokens; ++t) {
      std::vector<uint32_t> order(c.experts);
      for (uint32_t i = 0; i < c.experts; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return logits[size_t{t} * c.experts + a] > logits[size_t{t} * c.experts + b];
      });
      for (uint32_t j = 0; j < c.top_k; ++j) {
        if (order[j] < c.expert_first || order[j] >= c.expert_first + count) continue;
        double* out = &expected[(order[j] - c.expert_first) * matrix];
        for (uint32_t pass = 0; pass < c.passes; ++pass) {
          const float* row = &x[(size_t{pass} * rows + size_t{t} * c.top_k + j) * c.x_stride];
          for (uint32_t i = 0; i < c.n; ++i) {
            for (uint32_t k = 0; k < c.n; ++k) out[size_t{i} * c.n + k] += double(row[i]) * row[k];
          }
        }
      }
    }
    ops::ExpertGramArgs args{.x = gx.span(),
                             .counts = counts.span(),
                             .lists = lists.span(),
                             .gram = gram.span(),
                             .expert_first = c.expert_first,
                             .expert_count = c.expert_count,
                             .experts = c.experts,
                             .n = c.n,
                             .tokens = c.tokens,
                             .rows = rows,
                             .x_stride = c.x_stride,
                             .passes = c.passes};
    ops::expert_gram(stream(), args);
    const std::vector<float> once = gram.read(stream());
    args.accumulate = true;
    ops::expert_gram(stream(), args);
    const std::vector<float> twice = gram.read(stream());
    for (uint32_t e = 0; e < count; ++e) {
      const auto begin = expected.begin() + static_cast<std::ptrdiff_t>(e * matrix);
      std::vector<float> want(matrix), want2(matrix), got(matrix), got2(matrix);
      for (size_t i = 0; i < matrix; ++i) {
        want[i] = float(begin[static_cast<std::ptrdiff_t>(i)]);
        want2[i] = float(2 * begin[static_cast<std::ptrdiff_t>(i)]);
        got[i] = once[e * matrix + i];
        got2[i] = twice[e * matrix + i];
      }
      const uint32_t expert = c.expert_first + e;
      if (std::all_of(want.begin(), want.end(), [](float v) { return v == 0; })) {
        EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](float v) { return v == 0; }))
            << "expert " << expert << " has no rows: its factor is zero";
      } else {
        EXPECT_LE(nmse(got, want), kGramNmse) << "expert " << expert;
        EXPECT_LE(nmse(got2, want2), kGramNmse) << "expert " << expert << ", accumulated";
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

// The G factor of several backward passes: each entry's row in every block of X counts.
TEST_F(ExpertGramTest, PassesAddUp) {
  check({23, 5, 2, 36, 36, 3}, false);  // 16-byte loads
  check({17, 4, 2, 21, 23, 4}, true);   // scalar loads
}

// A run of experts in the middle (a part of a layer's factors that fits one binding).
TEST_F(ExpertGramTest, ExpertSubrange) {
  check({31, 7, 2, 20, 20, 2, 2, 3}, false);
}

// lavapipe bounds loop iterations: a list longer than the part one dispatch covers is split.
TEST_F(ExpertGramTest, LongListsSplitOverDispatches) {
  if (context().info().max_loop_iterations == 0) GTEST_SKIP() << "no loop bound on this device";
  const uint32_t part = context().info().max_loop_iterations / 2;
  const uint64_t before = stream().dispatch_count();
  check({part + 40, 1, 1, 8, 8}, false);
  EXPECT_GE(stream().dispatch_count() - before, 4u) << "two parts, written then accumulated";
  const uint64_t after = stream().dispatch_count();
  check({part / 2 + 40, 1, 1, 8, 8, 2}, false);  // two passes: the parts are half as long
  EXPECT_GE(stream().dispatch_count() - after, 4u) << "passes count towards the loop bound";
}

TEST_F(ExpertGramTest, RejectsBadShapes) {
  vk::Buffer small = context().create_buffer(64, "small");
  EXPECT_THROW(ops::expert_gram(stream(), {.x = small.span(),
                                           .counts = small.span(),
                                           .lists = small.span(),
                                           .gram = small.span(),
                                           .experts = 1,
                                           .n = 8,
                                           .tokens = 4,
                                           .rows = 4}),
               Error);
  EXPECT_THROW(ops::expert_gram(stream(), {.x = small.span(),
                                           .counts = small.span(),
                                           .lists = small.span(),
                                           .gram = small.span(),
                                           .expert_first = 2,
                                           .experts = 2,
                                           .n = 1,
                                           .tokens = 1,
                                           .rows = 1}),
               Error);
}

}  // namespace
}  // namespace vkmoe::test
