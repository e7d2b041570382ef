// GEMM and GEMV with W in GGUF's q8_0, q4_0 and q4_k blocks, read by the kernels as stored,
// against a double-accumulating C++ reference on the values those blocks decode to (the
// test's own quantiser in matmul_reference.h). Same decoded values and f32 accumulation, so
// the tolerance is the plain types' kStoredWeightsNmse (1e-7). Covers odd shapes (m and n off
// every tile, n = 1, k of one block and several), W as a view starting at a later row with a
// row stride wider than k, misaligned X (scalar loads), a forced small binding range, and
// shapes that are not whole blocks (an Error).
#include <cstdlib>
#include <string>
#include <tuple>

#include "engine/ops/gemm.h"
#include "engine/ops/gemv.h"
#include "engine/vk/error.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

constexpr ops::DType kQuants[] = {ops::DType::q8_0, ops::DType::q4_0, ops::DType::q4_k};

std::string name_of(ops::DType type) {
  return std::string(ops::dtype_name(type));
}

// A [rows, k] quantised W whose first `skip_rows` rows lie before the view and whose rows are
// `stride` elements apart (stride >= k, both whole blocks).
struct QuantMatrix {
  StoredWeights stored;
  std::vector<float> view;  // the [rows, k] values the view means, dense
};

QuantMatrix make_matrix(ops::DType type, uint32_t rows, uint32_t k, uint32_t stride,
                        uint32_t skip_rows, uint32_t seed) {
  QuantMatrix q;
  q.stored = store_weights(random_floats(size_t{skip_rows + rows} * stride, seed), type);
  q.view.resize(size_t{rows} * k);
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t i = 0; i < k; ++i) {
      q.view[size_t{r} * k + i] = q.stored.values[size_t{skip_rows + r} * stride + i];
    }
  }
  return q;
}

struct Case {
  uint32_t n, m, k;
  uint32_t stride = 0, skip_rows = 0;  // W view (0: dense from row 0)
  uint32_t x_skip = 0;                 // X starts this many floats into its buffer
};

class QuantMatmulTest : public GpuTest {
 protected:
  // Runs Y = X . W^T with gemm (or, for n = 1 with `use_gemv`, y = W . x with gemv); returns
  // the NMSE against the reference. Guard words around X and Y are checked on read-back.
  double run(ops::DType type, Case c, bool use_gemv, std::optional<ops::GemmTiles> tiles,
             std::optional<ops::GemvConfig> config, uint32_t seed) {
    const uint32_t stride = c.stride ? c.stride : c.k;
    const QuantMatrix w = make_matrix(type, c.m, c.k, stride, c.skip_rows, seed);
    const std::vector<float> x_all = random_floats(c.x_skip + size_t{c.n} * c.k, seed + 1);
    vk::Buffer gw = upload(w.stored.bytes, "w");
    GuardedBuffer gx(context(), stream(), x_all.size(), "x");
    gx.write(stream(), x_all);
    GuardedBuffer gy(context(), stream(), size_t{c.n} * c.m, "y");
    const vk::BufferSpan w_view =
        gw.span().sub(ops::dtype_row_bytes(type, uint64_t{c.skip_rows} * stride),
                      ops::dtype_matrix_bytes(type, c.m, c.k, stride));
    const vk::BufferSpan x_view = gx.span().sub(uint64_t{c.x_skip} * 4, uint64_t{c.n} * c.k * 4);
    if (use_gemv) {
      // The f32-activation path unless a test asks otherwise: the integer-dot fast path
      // quantises x and is held to its own bound in gemv_fast_paths_test.cpp.
      if (!config) {
        config = ops::default_gemv_config(context().info());
        config->integer_dot = false;
      }
      ops::gemv(stream(), {.w = w_view,
                           .x = x_view,
                           .y = gy.span(),
                           .w_type = type,
                           .m = c.m,
                           .k = c.k,
                           .w_stride = stride,
                           .config = config});
    } else {
      ops::gemm(stream(), {.x = x_view,
                           .w = w_view,
                           .y = gy.span(),
                           .w_type = type,
                           .n = c.n,
                           .m = c.m,
                           .k = c.k,
                           .w_stride = stride,
                           // unset: the f32 kernels' default (the GPU default, cooperative
                           // matrices, rounds to f16: gemm_coopmat_test.cpp)
                           .tiles = tiles.value_or(ops::default_gemm_tiles(context().info()))});
    }
    const std::vector<float> y = gy.read(stream());
    const std::vector<float> x(x_all.begin() + c.x_skip, x_all.end());
    return nmse(y, reference_matmul(x, w.view, c.n, c.m, c.k));
  }
};

std::string case_text(ops::DType type, const Case& c) {
  return name_of(type) + " n " + std::to_string(c.n) + ", m " + std::to_string(c.m) + ", k " +
         std::to_string(c.k) + ", stride " + std::to_string(c.stride) + ", from row " +
         std::to_string(c.skip_rows) + ", x skip " + std::to_string(c.x_skip);
}

class QuantShapes : public QuantMatmulTest, public ::testing::WithParamInterface<ops::DType> {};

// The device's default kernel and the portable tiled one, on shapes off every tile: k of one
// block and of three, n = 1 and n past a tile.
TEST_P(QuantShapes, GemmMatchesReference) {
  const ops::DType type = GetParam();
  const uint32_t b = ops::dtype_block_elements(type);
  for (const std::optional<ops::GemmTiles> tiles :
       {std::optional<ops::GemmTiles>{}, std::optional{ops::baseline_gemm_tiles()}}) {
    for (const Case c : {Case{1, 37, b}, Case{45, 70, 3 * b}, Case{17, 9, 2 * b}}) {
      EXPECT_LE(run(type, c, false, tiles, std::nullopt, c.n + c.m), kStoredWeightsNmse)
          << case_text(type, c) << (tiles ? ", baseline tiles" : ", default tiles");
    }
  }
}

// The device's default GEMV, the portable baseline and one without 16-byte loads.
TEST_P(QuantShapes, GemvMatchesReference) {
  const ops::DType type = GetParam();
  const uint32_t b = ops::dtype_block_elements(type);
  for (const std::optional<ops::GemvConfig> config :
       {std::optional<ops::GemvConfig>{}, std::optional{ops::baseline_gemv_config()},
        std::optional{ops::GemvConfig{16, 2, 3, false, false}}}) {
    for (const Case c : {Case{1, 1, b}, Case{1, 37, 3 * b}, Case{1, 130, 2 * b}}) {
      EXPECT_LE(run(type, c, true, std::nullopt, config, c.m), kStoredWeightsNmse)
          << case_text(type, c) << (config ? "" : ", default config");
    }
  }
}

// W from row 3 of a larger matrix with rows wider than k (an offset that is no multiple of
// the binding alignment), and X starting 3 floats in (the kernels' scalar paths) or 4.
TEST_P(QuantShapes, ViewsFromALaterRow) {
  const ops::DType type = GetParam();
  const uint32_t b = ops::dtype_block_elements(type);
  for (const uint32_t x_skip : {3u, 4u}) {
    const Case gemm_case{19, 23, 2 * b, 3 * b, 3, x_skip};
    EXPECT_LE(run(type, gemm_case, false, std::nullopt, std::nullopt, 5), kStoredWeightsNmse)
        << case_text(type, gemm_case);
    const Case gemv_case{1, 23, 2 * b, 3 * b, 3, x_skip};
    EXPECT_LE(run(type, gemv_case, true, std::nullopt, std::nullopt, 6), kStoredWeightsNmse)
        << case_text(type, gemv_case);
  }
}

TEST_P(QuantShapes, RejectsRowsOfPartBlocks) {
  const ops::DType type = GetParam();
  const uint32_t b = ops::dtype_block_elements(type);
  vk::Buffer big = context().create_buffer(1 << 16, "big");
  EXPECT_THROW(ops::gemm(stream(), {.x = big.span(),
                                    .w = big.span(),
                                    .y = big.span(),
                                    .w_type = type,
                                    .n = 2,
                                    .m = 2,
                                    .k = b + 8}),
               Error);
  EXPECT_THROW(ops::gemv(stream(), {.w = big.span(),
                                    .x = big.span(),
                                    .y = big.span(),
                                    .w_type = type,
                                    .m = 2,
                                    .k = b,
                                    .w_stride = b + 16}),
               Error);
}

INSTANTIATE_TEST_SUITE_P(Quants, QuantShapes, ::testing::ValuesIn(kQuants),
                         [](const auto& param_info) { return name_of(param_info.param); });

// The byte and index arithmetic the launchers share (no device needed).
TEST(QuantLayout, RowBytesAndIndexLimits) {
  EXPECT_EQ(ops::dtype_row_bytes(ops::DType::q8_0, 64), 68u);
  EXPECT_EQ(ops::dtype_row_bytes(ops::DType::q4_0, 64), 36u);
  EXPECT_EQ(ops::dtype_row_bytes(ops::DType::q4_k, 512), 288u);
  EXPECT_EQ(ops::dtype_row_bytes(ops::DType::f16, 3), 6u);
  EXPECT_THROW(ops::dtype_row_bytes(ops::DType::q4_k, 128), Error);
  EXPECT_EQ(ops::dtype_matrix_bytes(ops::DType::q4_0, 3, 32, 96), 2 * 54u + 18u);
  EXPECT_EQ(ops::dtype_matrix_bytes(ops::DType::q8_0, 0, 32, 32), 0u);
  EXPECT_EQ(ops::rows_with_u32_indices(4096), 1048575u);  // 2^20 rows would reach index 2^32
  EXPECT_EQ(ops::rows_with_u32_indices(uint64_t{1} << 40), 1u);
}

// VKMOE_MAX_BINDING_RANGE shrinks the binding limit so W (and X, Y) are split over rows.
class QuantSmallBindingTest : public QuantMatmulTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    QuantMatmulTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(QuantSmallBindingTest, SplitsTheWeight) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  for (const ops::DType type : kQuants) {
    const uint32_t b = ops::dtype_block_elements(type);
    const uint32_t k = type == ops::DType::q4_k ? b : 3 * b;
    for (const bool use_gemv : {false, true}) {
      const Case c{use_gemv ? 1u : 5u, 300, k, 0, 0, 0};
      const uint64_t before = stream().dispatch_count();
      EXPECT_LE(run(type, c, use_gemv, std::nullopt, std::nullopt, 51), kStoredWeightsNmse)
          << case_text(type, c) << (use_gemv ? ", gemv" : ", gemm");
      EXPECT_GT(stream().dispatch_count() - before, 4u) << "expected several chunked dispatches";
    }
  }
}

}  // namespace
}  // namespace vkmoe::test
