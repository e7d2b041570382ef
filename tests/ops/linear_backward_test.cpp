// Backward of nn.Linear for its input (dX = dY · W, W stored [out, in]) and of a routed
// expert stack (per routing entry, its expert's W). Three independent checks: the plain C++
// reference backward against finite differences of the reference forward (double), the
// kernel against the same finite differences, and the kernel against the reference backward
// (NMSE), for f32, f16 and bf16 weights, the tiled and the shuffle kernel (16-byte loads or
// not), accumulation, strided views and W split over bindings. GGUF q8_0, q4_0 and q4_k
// weights are held to the same NMSE against the reference on the values the test's own
// quantiser (matmul_reference.h) says the blocks decode to; rows of part blocks are refused.
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/linear_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// y[r, o] = Σ_i x[r, i] w[o, i]
std::vector<double> linear_forward(const std::vector<double>& x, const std::vector<double>& w,
                                   uint32_t n, uint32_t out, uint32_t in) {
  std::vector<double> y(size_t{n} * out, 0.0);
  for (uint32_t r = 0; r < n; ++r) {
    for (uint32_t o = 0; o < out; ++o) {
      for (uint32_t i = 0; i < in; ++i) y[r * out + o] += x[r * in + i] * w[o * in + i];
    }
  }
  return y;
}

// dx[r, i] = Σ_o dy[r, o] w[o, i]
std::vector<double> linear_backward_reference(const std::vector<double>& dy,
                                              const std::vector<double>& w, uint32_t n,
                                              uint32_t out, uint32_t in) {
  std::vector<double> dx(size_t{n} * in, 0.0);
  for (uint32_t r = 0; r < n; ++r) {
    for (uint32_t o = 0; o < out; ++o) {
      for (uint32_t i = 0; i < in; ++i) dx[r * in + i] += dy[r * out + o] * w[o * in + i];
    }
  }
  return dx;
}

struct Shape {
  uint32_t n, out, in;
};

class LinearBackwardTest : public GpuTest {
 protected:
  // Runs the kernel on dY, W (stored as `type`) and an initial dX (`accumulate`); returns dX.
  std::vector<float> run(Shape s, const std::vector<float>& dy, const StoredWeights& w,
                         ops::DType type, const std::vector<float>& dx0, bool accumulate,
                         std::optional<ops::GemmTiles> tiles = {}) {
    GuardedBuffer gdy(context(), stream(), dy.size(), "dy");
    gdy.write(stream(), dy);
    vk::Buffer gw = upload(w.bytes, "w");
    GuardedBuffer gdx(context(), stream(), size_t{s.n} * s.in, "dx");
    gdx.write(stream(), dx0);
    ops::linear_backward(stream(), {.dy = gdy.span(),
                                    .w = gw.span(),
                                    .dx = gdx.span(),
                                    .w_type = type,
                                    .n = s.n,
                                    .out = s.out,
                                    .in = s.in,
                                    .accumulate = accumulate,
                                    .tiles = tiles});
    return gdx.read(stream());
  }

  // dX of dY and W seen through row strides (first elements dy_first, dx_first into their
  // buffers) against the reference, with the gaps between dX rows untouched.
  void check_strided(uint32_t n, uint32_t out, uint32_t in, uint32_t dys, uint32_t ws, uint32_t dxs,
                     uint32_t dy_first, uint32_t dx_first);
};

TEST(LinearBackwardReference, MatchesFiniteDifferences) {
  const Shape s{3, 5, 4};
  const auto x = to_double(random_floats(size_t{s.n} * s.in, 1));
  const auto w = to_double(random_floats(size_t{s.out} * s.in, 2));
  const auto r = to_double(random_floats(size_t{s.n} * s.out, 3));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& xv) {
        return project(linear_forward(xv, w, s.n, s.out, s.in), r);
      },
      x);
  EXPECT_LE(max_relative_error(linear_backward_reference(r, w, s.n, s.out, s.in), fd), 1e-8);
}

TEST_F(LinearBackwardTest, MatchesFiniteDifferencesAndReference) {
  for (ops::DType type : {ops::DType::f32, ops::DType::f16, ops::DType::bf16}) {
    for (const Shape s : {Shape{1, 1, 1}, Shape{3, 7, 5}, Shape{19, 70, 37}, Shape{65, 33, 129},
                          Shape{2, 3, 8}, Shape{41, 128, 64}, Shape{70, 21, 136}}) {
      const auto dy = random_floats(size_t{s.n} * s.out, s.n + s.out);
      const StoredWeights w = store_weights(random_floats(size_t{s.out} * s.in, s.in), type);
      const std::vector<float> dx =
          run(s, dy, w, type, std::vector<float>(size_t{s.n} * s.in), false);
      const auto wd = to_double(w.values), r = to_double(dy);
      const auto expected = linear_backward_reference(r, wd, s.n, s.out, s.in);
      EXPECT_LE(nmse_double(dx, expected), 1e-7) << ops::dtype_name(type) << " " << s.n;
      if (s.n * s.in <= 200) {  // finite differences of the forward, input by input
        const auto x = to_double(random_floats(size_t{s.n} * s.in, 7));
        const auto fd = numeric_gradient(
            [&](const std::vector<double>& xv) {
              return project(linear_forward(xv, wd, s.n, s.out, s.in), r);
            },
            x);
        EXPECT_LE(max_relative_error(dx, fd), 1e-5) << ops::dtype_name(type) << " " << s.n;
      }
    }
  }
}

constexpr ops::DType kQuants[] = {ops::DType::q8_0, ops::DType::q4_0, ops::DType::q4_k};

// The kernels the backward can take on this device: the tiled baseline always, the shuffle
// kernel (8 columns per invocation, and with `wide` also 16) where the device has it. The
// quantised tests leave the 16-column shuffle out: its fully unrolled block decoders take
// lavapipe minutes to compile, and its indexing is the 8-column one repeated.
std::vector<ops::GemmTiles> backward_kernels(const vk::Context& context, bool wide = true) {
  std::vector<ops::GemmTiles> kernels{ops::baseline_gemm_tiles()};
  if (context.info().subgroup_shuffle && context.info().subgroup_size >= 8 &&
      context.info().min_subgroup_size <= 8) {
    kernels.push_back({ops::GemmKernel::shuffle, 8, 1, 8, 8, 0});
    if (wide) kernels.push_back({ops::GemmKernel::shuffle, 8, 1, 16, 32, 0});
  }
  return kernels;
}

std::string kernel_text(const ops::GemmTiles& t) {
  return (t.kernel == ops::GemmKernel::tiled ? "tiled tm " : "shuffle tm ") + std::to_string(t.tm);
}

// Both kernels on every dtype, whatever the device's default: the tiled baseline, and the
// shuffle kernel with 8 and 16 columns per invocation and tiles of 8 and 32 rows, on shapes
// whose in is a multiple of 8 (16-byte loads; out with and without a tail of k) and not.
TEST_F(LinearBackwardTest, EveryKernelMatchesReference) {
  for (const ops::GemmTiles& t : backward_kernels(context())) {
    for (ops::DType type : {ops::DType::f32, ops::DType::f16, ops::DType::bf16}) {
      for (const Shape s : {Shape{37, 70, 24}, Shape{9, 64, 200}, Shape{5, 13, 29}}) {
        for (bool accumulate : {false, true}) {
          const auto dy = random_floats(size_t{s.n} * s.out, 61);
          const StoredWeights w = store_weights(random_floats(size_t{s.out} * s.in, 62), type);
          const auto dx0 = random_floats(size_t{s.n} * s.in, 63);
          const std::vector<float> dx = run(s, dy, w, type, dx0, accumulate, t);
          auto expected =
              linear_backward_reference(to_double(dy), to_double(w.values), s.n, s.out, s.in);
          for (size_t i = 0; accumulate && i < expected.size(); ++i) expected[i] += dx0[i];
          EXPECT_LE(nmse_double(dx, expected), 1e-7)
              << (t.kernel == ops::GemmKernel::tiled ? "tiled " : "shuffle tm ") << t.tm << " "
              << ops::dtype_name(type) << " " << s.n << "x" << s.out << "x" << s.in
              << " accumulate " << accumulate;
        }
      }
    }
  }
}

TEST_F(LinearBackwardTest, RefusesShuffleTilesOfOddWidth) {
  if (!context().info().subgroup_shuffle) GTEST_SKIP() << "no subgroup shuffle";
  const Shape s{4, 8, 8};
  const StoredWeights w = store_weights(random_floats(64, 1), ops::DType::f32);
  EXPECT_THROW(run(s, random_floats(32, 2), w, ops::DType::f32, std::vector<float>(32), false,
                   ops::GemmTiles{ops::GemmKernel::shuffle, 8, 1, 4, 8, 0}),
               Error);
}

TEST_F(LinearBackwardTest, AccumulatesIntoDx) {
  const Shape s{17, 40, 23};
  const auto dy = random_floats(size_t{s.n} * s.out, 5);
  const StoredWeights w = store_weights(random_floats(size_t{s.out} * s.in, 6), ops::DType::f32);
  const auto dx0 = random_floats(size_t{s.n} * s.in, 8);
  const std::vector<float> dx = run(s, dy, w, ops::DType::f32, dx0, true);
  auto expected = linear_backward_reference(to_double(dy), to_double(w.values), s.n, s.out, s.in);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += dx0[i];
  EXPECT_LE(nmse_double(dx, expected), 1e-7);
}

TEST_F(LinearBackwardTest, StridedViews) {
  check_strided(9, 21, 13, 25, 16, 20, 1, 3);
  check_strided(11, 20, 16, 24, 24, 20, 4, 8);  // rows aligned for 16-byte loads
}

void LinearBackwardTest::check_strided(uint32_t n, uint32_t out, uint32_t in, uint32_t dys,
                                       uint32_t ws, uint32_t dxs, uint32_t dy_first,
                                       uint32_t dx_first) {
  const auto dy_all = random_floats(dy_first + size_t{n} * dys, 31);
  const StoredWeights w_all = store_weights(random_floats(size_t{out} * ws, 32), ops::DType::f32);
  GuardedBuffer gdy(context(), stream(), dy_all.size(), "dy");
  gdy.write(stream(), dy_all);
  vk::Buffer gw = upload(w_all.bytes, "w");
  GuardedBuffer gdx(context(), stream(), dx_first + size_t{n} * dxs, "dx");
  ops::linear_backward(stream(), {.dy = gdy.span().sub(dy_first * 4, ((n - 1) * dys + out) * 4),
                                  .w = gw.span(),
                                  .dx = gdx.span().sub(dx_first * 4, ((n - 1) * dxs + in) * 4),
                                  .n = n,
                                  .out = out,
                                  .in = in,
                                  .dy_stride = dys,
                                  .w_stride = ws,
                                  .dx_stride = dxs});
  const std::vector<float> dx_all = gdx.read(stream());
  std::vector<double> dy(size_t{n} * out), w(size_t{out} * in);
  std::vector<float> dx(size_t{n} * in);
  for (uint32_t r = 0; r < n; ++r) {
    for (uint32_t o = 0; o < out; ++o) dy[r * out + o] = dy_all[dy_first + r * dys + o];
    for (uint32_t i = 0; i < in; ++i) dx[r * in + i] = dx_all[dx_first + r * dxs + i];
    for (uint32_t i = in; r + 1 < n && i < dxs; ++i) {
      EXPECT_EQ(std::bit_cast<uint32_t>(dx_all[dx_first + r * dxs + i]), GuardedBuffer::kSentinel);
    }
  }
  for (uint32_t o = 0; o < out; ++o) {
    for (uint32_t i = 0; i < in; ++i) w[o * in + i] = w_all.values[o * ws + i];
  }
  EXPECT_LE(nmse_double(dx, linear_backward_reference(dy, w, n, out, in)), 1e-7);
}

// in of one block and of several (q4_k: 256 per block), out and n off every tile, n = 1.
TEST_F(LinearBackwardTest, QuantisedWeightsMatchReference) {
  for (const ops::GemmTiles& t : backward_kernels(context(), false)) {
    for (ops::DType type : kQuants) {
      const uint32_t block = ops::dtype_block_elements(type);
      for (const Shape s :
           {Shape{19, 37, block}, Shape{1, 5, 3 * block}, Shape{41, 70, 2 * block}}) {
        for (bool accumulate : {false, true}) {
          const auto dy = random_floats(size_t{s.n} * s.out, 71);
          const StoredWeights w = store_weights(random_floats(size_t{s.out} * s.in, 72), type);
          const auto dx0 = random_floats(size_t{s.n} * s.in, 73);
          const std::vector<float> dx = run(s, dy, w, type, dx0, accumulate, t);
          auto expected =
              linear_backward_reference(to_double(dy), to_double(w.values), s.n, s.out, s.in);
          for (size_t i = 0; accumulate && i < expected.size(); ++i) expected[i] += dx0[i];
          EXPECT_LE(nmse_double(dx, expected), 1e-7)
              << kernel_text(t) << " " << ops::dtype_name(type) << " " << s.n << "x" << s.out << "x"
              << s.in << " accumulate " << accumulate;
        }
      }
    }
  }
}

// W as a view of a wider quantised matrix (rows a block longer than in), starting a few rows in:
// the binding starts on a block boundary, and first_element counts the type's words.
TEST_F(LinearBackwardTest, QuantisedStridedView) {
  for (ops::DType type : kQuants) {
    const uint32_t block = ops::dtype_block_elements(type);
    const uint32_t n = 7, out = 13, in = block, ws = 2 * block, skip = 3;
    const StoredWeights all = store_weights(random_floats(size_t{skip + out} * ws, 81), type);
    const auto dy = random_floats(size_t{n} * out, 82);
    GuardedBuffer gdy(context(), stream(), dy.size(), "dy");
    gdy.write(stream(), dy);
    vk::Buffer gw = upload(all.bytes, "w");
    GuardedBuffer gdx(context(), stream(), size_t{n} * in, "dx");
    ops::linear_backward(stream(), {.dy = gdy.span(),
                                    .w = gw.span().sub(ops::dtype_row_bytes(type, skip * ws),
                                                       ops::dtype_matrix_bytes(type, out, in, ws)),
                                    .dx = gdx.span(),
                                    .w_type = type,
                                    .n = n,
                                    .out = out,
                                    .in = in,
                                    .w_stride = ws});
    std::vector<double> w(size_t{out} * in);
    for (uint32_t o = 0; o < out; ++o) {
      for (uint32_t i = 0; i < in; ++i) w[o * in + i] = all.values[(skip + o) * ws + i];
    }
    EXPECT_LE(
        nmse_double(gdx.read(stream()), linear_backward_reference(to_double(dy), w, n, out, in)),
        1e-7)
        << ops::dtype_name(type);
  }
}

TEST_F(LinearBackwardTest, RefusesQuantisedRowsOfPartBlocks) {
  vk::Buffer buffer = context().create_buffer(1 << 14, "any");
  try {
    ops::linear_backward(stream(), {.dy = buffer.span(),
                                    .w = buffer.span(),
                                    .dx = buffer.span(),
                                    .w_type = ops::DType::q8_0,
                                    .n = 1,
                                    .out = 32,
                                    .in = 40});
    FAIL() << "q8_0 rows of 40 weights were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q8_0"), std::string::npos) << e.what();
  }
}

// A binding limit of 2048 bytes splits dY/dX over rows and W (an lm_head of a large
// vocabulary in miniature) over its out rows, each piece adding to dX.
class LinearBackwardSmallBindingTest : public LinearBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    LinearBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(LinearBackwardSmallBindingTest, SplitsOverVocabularyRows) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  for (bool accumulate : {false, true}) {
    const Shape s{11, 300, 37};
    const auto dy = random_floats(size_t{s.n} * s.out, 41);
    const StoredWeights w =
        store_weights(random_floats(size_t{s.out} * s.in, 42), ops::DType::bf16);
    const auto dx0 = random_floats(size_t{s.n} * s.in, 43);
    const uint64_t before = stream().dispatch_count();
    const std::vector<float> dx = run(s, dy, w, ops::DType::bf16, dx0, accumulate);
    EXPECT_GT(stream().dispatch_count() - before, 4u);
    auto expected = linear_backward_reference(to_double(dy), to_double(w.values), s.n, s.out, s.in);
    for (size_t i = 0; accumulate && i < expected.size(); ++i) expected[i] += dx0[i];
    EXPECT_LE(nmse_double(dx, expected), 1e-7) << "accumulate " << accumulate;
  }
}

// A quantised lm_head in miniature: 300 rows of 64 q8_0 weights (68 bytes each) split over
// 2 KiB bindings on whole rows.
TEST_F(LinearBackwardSmallBindingTest, SplitsQuantisedRows) {
  const Shape s{5, 300, 64};
  const auto dy = random_floats(size_t{s.n} * s.out, 44);
  const StoredWeights w = store_weights(random_floats(size_t{s.out} * s.in, 45), ops::DType::q8_0);
  const uint64_t before = stream().dispatch_count();
  const std::vector<float> dx =
      run(s, dy, w, ops::DType::q8_0, std::vector<float>(size_t{s.n} * s.in), false);
  EXPECT_GT(stream().dispatch_count() - before, 4u);
  EXPECT_LE(nmse_double(dx, linear_backward_reference(to_double(dy), to_double(w.values), s.n,
                                                      s.out, s.in)),
            1e-7);
}

// Routing lists as moe_router writes them: each token picks top_k distinct experts; expert
// e's list holds the entries t·top_k + j choosing it.
struct Routing {
  std::vector<uint32_t> choices, counts, lists;
};
Routing random_routing(uint32_t tokens, uint32_t experts, uint32_t top_k, uint32_t seed) {
  std::mt19937 rng(seed);
  Routing r{std::vector<uint32_t>(size_t{tokens} * top_k), std::vector<uint32_t>(experts, 0),
            std::vector<uint32_t>(size_t{experts} * tokens, 0)};
  for (uint32_t t = 0; t < tokens; ++t) {
    std::vector<uint32_t> order(experts);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t j = 0; j < top_k; ++j) {
      const uint32_t e = order[j];
      r.choices[t * top_k + j] = e;
      r.lists[e * tokens + r.counts[e]++] = t * top_k + j;
    }
  }
  return r;
}

struct MoeCase {
  uint32_t tokens, experts, top_k, out, in;
  ops::DType type;
  bool accumulate;
  std::optional<ops::GemmTiles> tiles = {};
};

class MoeLinearBackwardTest : public LinearBackwardTest {
 protected:
  // Runs moe_linear_backward on random routing and returns its NMSE against a per-entry
  // reference.
  double run_moe(const MoeCase& c) {
    const uint32_t T = c.tokens, E = c.experts, K = c.top_k, out = c.out, in = c.in;
    const uint32_t entries = T * K;
    const Routing routing = random_routing(T, E, K, 3);
    const auto dy = random_floats(size_t{entries} * out, 51);
    const StoredWeights w = store_weights(random_floats(size_t{E} * out * in, 52), c.type);
    const auto dx0 = random_floats(size_t{entries} * in, 53);
    GuardedBuffer gdy(context(), stream(), dy.size(), "dy");
    gdy.write(stream(), dy);
    GuardedBuffer gdx(context(), stream(), dx0.size(), "dx");
    gdx.write(stream(), dx0);
    vk::Buffer gw = upload(w.bytes, "w");
    vk::Buffer counts = context().create_buffer(E * 4, "counts");
    stream().upload(counts.span(), routing.counts.data(), E * 4);
    vk::Buffer lists = context().create_buffer(size_t{E} * T * 4, "lists");
    stream().upload(lists.span(), routing.lists.data(), size_t{E} * T * 4);
    const uint64_t before = stream().dispatch_count();
    ops::moe_linear_backward(stream(), {.dy = gdy.span(),
                                        .w = gw.span(),
                                        .dx = gdx.span(),
                                        .counts = counts.span(),
                                        .lists = lists.span(),
                                        .w_type = c.type,
                                        .experts = E,
                                        .out = out,
                                        .in = in,
                                        .tokens = T,
                                        .top_k = K,
                                        .accumulate = c.accumulate,
                                        .tiles = c.tiles});
    dispatches = stream().dispatch_count() - before;
    const std::vector<float> dx = gdx.read(stream());
    std::vector<double> expected(dx0.size());
    for (uint32_t entry = 0; entry < entries; ++entry) {
      const uint32_t e = routing.choices[entry];
      const std::vector<double> row(dy.begin() + entry * out, dy.begin() + (entry + 1) * out);
      const std::vector<double> we(w.values.begin() + size_t{e} * out * in,
                                   w.values.begin() + size_t{e + 1} * out * in);
      const auto g = linear_backward_reference(row, we, 1, out, in);
      for (uint32_t i = 0; i < in; ++i) {
        expected[entry * in + i] = g[i] + (c.accumulate ? dx0[entry * in + i] : 0.0);
      }
    }
    return nmse_double(dx, expected);
  }

  uint64_t dispatches = 0;  // by the last run_moe
};

TEST_F(MoeLinearBackwardTest, MatchesPerEntryReference) {
  for (ops::DType type : {ops::DType::f32, ops::DType::f16, ops::DType::bf16}) {
    for (bool accumulate : {false, true}) {
      EXPECT_LE(run_moe({13, 5, 2, 19, 27, type, accumulate}), 1e-7)
          << ops::dtype_name(type) << " accumulate " << accumulate;
      // in a multiple of 8, out of 4: 16-byte loads, as the demo model's experts
      EXPECT_LE(run_moe({41, 8, 2, 64, 128, type, accumulate}), 1e-7)
          << ops::dtype_name(type) << " accumulate " << accumulate;
      EXPECT_LE(run_moe({29, 4, 2, 36, 40, type, accumulate}), 1e-7)
          << ops::dtype_name(type) << " accumulate " << accumulate;
    }
  }
}

TEST_F(MoeLinearBackwardTest, TiledKernelMatchesPerEntryReference) {
  for (ops::DType type : {ops::DType::f32, ops::DType::bf16}) {
    EXPECT_LE(run_moe({13, 5, 2, 19, 27, type, true, ops::baseline_gemm_tiles()}), 1e-7)
        << ops::dtype_name(type);
    EXPECT_LE(run_moe({41, 8, 2, 64, 128, type, false, ops::baseline_gemm_tiles()}), 1e-7)
        << ops::dtype_name(type);
  }
}

// The shuffle kernel with one workgroup per expert: each walks every column tile of dX (in 136 =
// 64 + 64 + 8) and every row tile of its expert (41 tokens of top-2 over 5 experts give about 16
// rows each, tiles of 32 rows with a half-height last tile), on 16-byte and scalar loads; and with
// 16-row tiles (37 tokens: about 15 rows each, so one workgroup row per expert walks them all).
TEST_F(MoeLinearBackwardTest, OneWorkgroupPerExpertWalksEveryTile) {
  if (backward_kernels(context(), false).size() < 2) GTEST_SKIP() << "no shuffle kernel here";
  ops::GemmTiles t{ops::GemmKernel::shuffle, 8, 1, 8, 32, 0};
  t.workgroups = 1;
  ops::GemmTiles short_tiles = t;
  short_tiles.tn = 16;
  for (ops::DType type : {ops::DType::f32, ops::DType::f16}) {
    EXPECT_LE(run_moe({41, 5, 2, 40, 136, type, true, t}), 1e-7) << ops::dtype_name(type);
    EXPECT_LE(run_moe({41, 5, 2, 19, 137, type, false, t}), 1e-7) << ops::dtype_name(type);
    EXPECT_LE(run_moe({37, 5, 2, 40, 136, type, true, short_tiles}), 1e-7)
        << ops::dtype_name(type) << ", 16-row tiles";
  }
}

// Every quant on both kernels; in of one and of two blocks, out off every tile; 3 tokens of
// top-2 over 8 experts leave most experts empty, 41 tokens over 5 spread them unevenly.
TEST_F(MoeLinearBackwardTest, QuantisedWeightsMatchPerEntryReference) {
  for (const ops::GemmTiles& t : backward_kernels(context(), false)) {
    for (ops::DType type : kQuants) {
      const uint32_t block = ops::dtype_block_elements(type);
      EXPECT_LE(run_moe({13, 5, 2, 19, block, type, false, t}), 1e-7)
          << kernel_text(t) << " " << ops::dtype_name(type);
      EXPECT_LE(run_moe({3, 8, 2, 37, 2 * block, type, true, t}), 1e-7)
          << kernel_text(t) << " " << ops::dtype_name(type);
      EXPECT_LE(run_moe({41, 5, 2, 64, block, type, true, t}), 1e-7)
          << kernel_text(t) << " " << ops::dtype_name(type);
    }
  }
}

// A 2 KiB binding limit holds 5 experts of 8 x 12 f32 at most: nine are dispatched in groups.
class MoeLinearBackwardSmallBindingTest : public MoeLinearBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    MoeLinearBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(MoeLinearBackwardSmallBindingTest, SplitsExpertGroups) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  EXPECT_LE(run_moe({13, 9, 2, 8, 12, ops::DType::f32, true}), 1e-7);
  EXPECT_GE(dispatches, 2u) << "expected the experts in groups of at most 5";
}

}  // namespace
}  // namespace vkmoe::test
