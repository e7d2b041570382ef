// Token embeddings (f32/f16/bf16 tables, chunked tables, out-of-range ids) and the broadcast
// updates (bias, sigmoid-gated add) against plain C++ loops.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/ops/broadcast.h"
#include "engine/ops/embedding.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

class EmbeddingTest : public GpuTest, public ::testing::WithParamInterface<ops::DType> {
 protected:
  // Gathers `ids` from a [vocab, columns] table of `type`; returns the rows and the status word.
  std::pair<std::vector<float>, uint32_t> gather(const StoredWeights& table, ops::DType type,
                                                 const std::vector<uint32_t>& ids, uint32_t vocab,
                                                 uint32_t columns) {
    vk::Buffer gtable = context().create_buffer(table.bytes.size(), "table");
    vk::Buffer gids = context().create_buffer(ids.size() * 4, "ids");
    vk::Buffer status = context().create_buffer(4, "status");
    GuardedBuffer out(context(), stream(), ids.size() * columns, "out");
    stream().upload(gtable.span(), table.bytes.data(), table.bytes.size());
    stream().upload(gids.span(), ids.data(), ids.size() * 4);
    stream().fill(status.span(), 0);
    ops::embedding(stream(), {gtable.span(), gids.span(), out.span(), status.span(), type,
                              static_cast<uint32_t>(ids.size()), columns, vocab});
    uint32_t bad = 0;
    stream().download(status.span(), &bad, 4);
    return {out.read(stream()), bad};
  }
};

TEST_P(EmbeddingTest, GathersRows) {
  const ops::DType type = GetParam();
  const uint32_t vocab = 97, columns = 37;
  const StoredWeights table = store_weights(random_floats(size_t{vocab} * columns, 51), type);
  const std::vector<uint32_t> ids = {5, 0, 96, 5, 42, 13, 96};
  const auto [rows, bad] = gather(table, type, ids, vocab, columns);
  EXPECT_EQ(bad, 0u);
  for (size_t t = 0; t < ids.size(); ++t) {
    for (uint32_t c = 0; c < columns; ++c) {
      ASSERT_EQ(rows[t * columns + c], table.values[size_t{ids[t]} * columns + c]) << t << "," << c;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, EmbeddingTest,
                         ::testing::Values(ops::DType::f32, ops::DType::f16, ops::DType::bf16),
                         [](const auto& test) { return std::string(ops::dtype_name(test.param)); });

TEST_F(EmbeddingTest, OutOfRangeIdGivesZerosAndIsReported) {
  const uint32_t vocab = 10, columns = 8;
  const StoredWeights table =
      store_weights(random_floats(size_t{vocab} * columns, 52), ops::DType::f32);
  const auto [rows, bad] = gather(table, ops::DType::f32, {3, 10, 7}, vocab, columns);
  EXPECT_EQ(bad, 11u);  // 1 + the bad id
  for (uint32_t c = 0; c < columns; ++c) EXPECT_EQ(rows[columns + c], 0.0f);
  EXPECT_EQ(rows[0], table.values[3 * columns]);
}

// A table larger than one binding is read in chunks of rows (binding limit forced to 1 KiB).
class EmbeddingSmallRangeTest : public EmbeddingTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "1024", 1);
    GpuTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(EmbeddingSmallRangeTest, ChunkedTable) {
  const uint32_t vocab = 300, columns = 20;  // bf16: 40 bytes a row, 25 rows a chunk, 12 chunks
  const StoredWeights table =
      store_weights(random_floats(size_t{vocab} * columns, 53), ops::DType::bf16);
  const std::vector<uint32_t> ids = {299, 0, 150, 11, 12, 13, 298};
  const auto [rows, bad] = gather(table, ops::DType::bf16, ids, vocab, columns);
  EXPECT_EQ(bad, 0u);
  for (size_t t = 0; t < ids.size(); ++t) {
    for (uint32_t c = 0; c < columns; ++c) {
      ASSERT_EQ(rows[t * columns + c], table.values[size_t{ids[t]} * columns + c]) << t;
    }
  }
  EXPECT_GE(stream().dispatch_count(), 12u);
}

class BroadcastTest : public GpuTest {};

TEST_F(BroadcastTest, BiasAndSigmoidGatedAdd) {
  const uint32_t rows = 7, cols = 45;
  const auto x = random_floats(size_t{rows} * cols, 54);
  const auto bias = random_floats(cols, 55);
  const auto gate = random_floats(rows, 56, -4.0f, 4.0f);
  const auto y = random_floats(size_t{rows} * cols, 57);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer gbias(context(), stream(), bias.size(), "bias");
  GuardedBuffer ggate(context(), stream(), gate.size(), "gate");
  GuardedBuffer gy(context(), stream(), y.size(), "y");
  gx.write(stream(), x);
  gbias.write(stream(), bias);
  ggate.write(stream(), gate);
  gy.write(stream(), y);
  ops::add_bias(stream(), gx.span(), gbias.span(), rows, cols);
  ops::add_sigmoid_gated(stream(), gx.span(), ggate.span(), gy.span(), rows, cols);
  std::vector<float> expected(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const double s = 1.0 / (1.0 + std::exp(-double(gate[r])));
    for (uint32_t c = 0; c < cols; ++c) {
      const size_t i = size_t{r} * cols + c;
      expected[i] = float(double(x[i]) + bias[c] + s * y[i]);
    }
  }
  EXPECT_LE(nmse(gx.read(stream()), expected), 1e-7);
}

}  // namespace
}  // namespace vkmoe::test
