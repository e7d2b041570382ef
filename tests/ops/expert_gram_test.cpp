// The KFAC factor kernel (Σ x xᵀ over the rows listed for each expert of a group, every expert in
// one call) against a double loop over the same lists: odd sizes (scalar loads), multiples of 4
// (16-byte loads), accumulation, an expert with no rows, rows with a stride, rows listed out of
// order and more than once, lists at unaligned offsets, a list split over several dispatches,
// and guard words.
#include <algorithm>
#include <cstdlib>
#include <random>

#include "engine/ops/expert_gram.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// f32 sums of up to ~3·10⁴ products against double: NMSE up to ~1e-9 for the longest lists.
constexpr double kGramNmse = 1e-8;

struct GramCase {
  uint32_t x_rows, experts, n, x_stride;
  // Rows listed per expert: 2·mean_rows for the first (the longest), uniform in [0, 2·mean_rows]
  // for the others.
  uint32_t mean_rows;
  bool empty_last = false;  // the last expert lists no row
};

class ExpertGramTest : public GpuTest {
 protected:
  // Checks both kernels: X through storage buffers, and X as texels where the device and the
  // layout allow it. Returns whether the texel kernel ran.
  bool check(const GramCase& c) {
    check(c, false);
    return check(c, true);
  }

  // Draws each expert's list (random rows of X, so out of order and sometimes repeated), then
  // checks one expert_gram call (writing, then accumulating a second time) against the
  // reference.
  bool check(const GramCase& c, bool texels) {
    SCOPED_TRACE(texels ? "texels where allowed" : "storage buffers");
    std::mt19937 rng(c.x_rows * 31 + c.n);
    std::vector<uint32_t> offsets{0}, rows;
    uint32_t longest = 0;
    for (uint32_t e = 0; e < c.experts; ++e) {
      uint32_t count = e == 0 ? 2 * c.mean_rows
                              : std::uniform_int_distribution<uint32_t>(0, 2 * c.mean_rows)(rng);
      if (c.empty_last && e + 1 == c.experts) count = 0;
      for (uint32_t r = 0; r < count; ++r) {
        rows.push_back(std::uniform_int_distribution<uint32_t>(0, c.x_rows - 1)(rng));
      }
      offsets.push_back(static_cast<uint32_t>(rows.size()));
      longest = std::max(longest, count);
    }
    const auto x = random_floats(size_t{c.x_rows} * c.x_stride, 72);
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    const size_t matrix = size_t{c.n} * c.n;
    GuardedBuffer gram(context(), stream(), matrix * c.experts, "gram");
    gx.write(stream(), x);
    // Offsets and rows share one buffer, one element apart from alignment: the kernel is told
    // where each starts.
    std::vector<uint32_t> lists{7};
    lists.insert(lists.end(), offsets.begin(), offsets.end());
    lists.insert(lists.end(), rows.begin(), rows.end());
    lists.push_back(7);
    vk::Buffer gl = context().create_buffer(lists.size() * 4, "lists");
    stream().upload(gl.span(), lists.data(), lists.size() * 4);

    std::vector<double> expected(matrix * c.experts, 0.0);
    for (uint32_t e = 0; e < c.experts; ++e) {
      for (uint32_t k = offsets[e]; k < offsets[e + 1]; ++k) {
        const float* row = &x[size_t{rows[k]} * c.x_stride];
        for (uint32_t i = 0; i < c.n; ++i) {
          for (uint32_t j = 0; j < c.n; ++j) {
            expected[e * matrix + size_t{i} * c.n + j] += double(row[i]) * row[j];
          }
        }
      }
    }
    const VkDeviceSize offsets_bytes = offsets.size() * 4;
    ops::ExpertGramArgs args{
        .x = gx.span(),
        .offsets = gl.span(4, offsets_bytes),
        .rows = gl.span(4 + offsets_bytes, std::max<size_t>(rows.size(), 1) * 4),
        .gram = gram.span(),
        .experts = c.experts,
        .n = c.n,
        .x_rows = c.x_rows,
        .listed = static_cast<uint32_t>(rows.size()),
        .longest = longest,
        .x_stride = c.x_stride,
        .read_x_as_texels = texels};
    const bool read_texels = ops::expert_gram_reads_texels(context(), args);
    EXPECT_TRUE(texels || !read_texels);
    ops::expert_gram(stream(), args);
    const std::vector<float> once = gram.read(stream());
    args.accumulate = true;
    ops::expert_gram(stream(), args);
    const std::vector<float> twice = gram.read(stream());
    for (uint32_t e = 0; e < c.experts; ++e) {
      std::vector<float> want(matrix), want2(matrix), got(matrix), got2(matrix);
      for (size_t i = 0; i < matrix; ++i) {
        want[i] = float(expected[e * matrix + i]);
        want2[i] = float(2 * expected[e * matrix + i]);
        got[i] = once[e * matrix + i];
        got2[i] = twice[e * matrix + i];
      }
      if (offsets[e] == offsets[e + 1]) {
        EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](float v) { return v == 0; }))
            << "expert " << e << " has no rows: its factor is zero";
      } else {
        EXPECT_LE(nmse(got, want), kGramNmse) << "expert " << e;
        EXPECT_LE(nmse(got2, want2), kGramNmse) << "expert " << e << ", accumulated";
      }
    }
    return read_texels;
  }

  bool cpu_device() { return context().info().type == VK_PHYSICAL_DEVICE_TYPE_CPU; }
};

TEST_F(ExpertGramTest, MatchesReferenceForEveryExpert) {
  check({.x_rows = 74,
         .experts = 6,
         .n = 53,
         .x_stride = 53,
         .mean_rows = 25,
         .empty_last = true});  // n not a multiple of any tile
}

TEST_F(ExpertGramTest, WideRowsAndStride) {
  check({.x_rows = 80, .experts = 4, .n = 70, .x_stride = 75, .mean_rows = 40});
}

// n and the stride multiples of 4: 16-byte loads, with a partial last tile (68 = 64 + 4).
// On CPU devices these rows are whole texels, so the texel kernel runs too.
TEST_F(ExpertGramTest, VectorLoadsWithPartialTile) {
  const bool texels = check({.x_rows = 58, .experts = 5, .n = 68, .x_stride = 72, .mean_rows = 30});
  EXPECT_EQ(texels, cpu_device());
}

// Hundreds of rows per expert, as a merge of many examples gives: the long contraction.
TEST_F(ExpertGramTest, LongListsAtTheMergeShape) {
  const bool texels = check(
      {.x_rows = 900, .experts = 3, .n = 64, .x_stride = 64, .mean_rows = 500, .empty_last = true});
  EXPECT_EQ(texels, cpu_device());
}

TEST_F(ExpertGramTest, SingleRow) {
  check({.x_rows = 1, .experts = 1, .n = 16, .x_stride = 16, .mean_rows = 1});  // twice row 0
}

// lavapipe bounds loop iterations: a list longer than the part one dispatch covers is split.
TEST_F(ExpertGramTest, LongListsSplitOverDispatches) {
  if (context().info().max_loop_iterations == 0) GTEST_SKIP() << "no loop bound on this device";
  const uint32_t part = context().info().max_loop_iterations / 2;
  const uint64_t before = stream().dispatch_count();
  check({.x_rows = 50, .experts = 2, .n = 8, .x_stride = 8, .mean_rows = part / 2 + 40});
  // expert 0 lists part + 80 rows
  EXPECT_GE(stream().dispatch_count() - before, 8u)
      << "two parts, written then accumulated, for each kernel";
}

TEST_F(ExpertGramTest, RejectsBadShapes) {
  vk::Buffer small = context().create_buffer(64, "small");
  const ops::ExpertGramArgs too_small{.x = small.span(),
                                      .offsets = small.span(),
                                      .rows = small.span(),
                                      .gram = small.span(),
                                      .experts = 1,
                                      .n = 8,
                                      .x_rows = 4,
                                      .listed = 4,
                                      .longest = 4};
  EXPECT_THROW(ops::expert_gram(stream(), too_small), Error);
  ops::ExpertGramArgs no_experts = too_small;
  no_experts.n = 1;
  no_experts.x_rows = 1;
  no_experts.experts = 0;
  EXPECT_THROW(ops::expert_gram(stream(), no_experts), Error);
  ops::ExpertGramArgs too_long = too_small;
  too_long.n = 1;
  too_long.x_rows = 1;
  too_long.listed = 1;
  too_long.longest = 2;  // a list longer than all of them together
  EXPECT_THROW(ops::expert_gram(stream(), too_long), Error);
}

}  // namespace
}  // namespace vkmoe::test
