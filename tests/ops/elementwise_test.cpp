// Elementwise kernels against a plain C++ reference.
#include <bit>
#include <cmath>
#include <cstdlib>

#include "engine/ops/elementwise.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

float reference_silu(float x) {
  return x / (1.0f + std::exp(-x));
}

std::vector<float> reference(ops::ElementwiseOp op, const std::vector<float>& a,
                             const std::vector<float>& b) {
  std::vector<float> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    switch (op) {
      case ops::ElementwiseOp::add:
        out[i] = a[i] + b[i];
        break;
      case ops::ElementwiseOp::mul:
        out[i] = a[i] * b[i];
        break;
      case ops::ElementwiseOp::silu:
        out[i] = reference_silu(a[i]);
        break;
      case ops::ElementwiseOp::swiglu:
        out[i] = reference_silu(a[i]) * b[i];
        break;
    }
  }
  return out;
}

class ElementwiseTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::ElementwiseOp, uint64_t>> {};

std::string case_name(
    const ::testing::TestParamInfo<std::tuple<ops::ElementwiseOp, uint64_t>>& test) {
  const char* const names[] = {"add", "mul", "silu", "swiglu"};
  return std::string(names[static_cast<int>(std::get<0>(test.param))]) + "_" +
         std::to_string(std::get<1>(test.param));
}

TEST_P(ElementwiseTest, MatchesReference) {
  const auto [op, count] = GetParam();
  const auto a = random_floats(count, 1, -6.0f, 6.0f);
  const auto b = random_floats(count, 2);
  GuardedBuffer ga(context(), stream(), count, "a");
  GuardedBuffer gb(context(), stream(), count, "b");
  GuardedBuffer out(context(), stream(), count, "out");
  ga.write(stream(), a);
  gb.write(stream(), b);
  ops::elementwise(stream(), op, ga.span(), gb.span(), out.span(), count);
  EXPECT_LE(nmse(out.read(stream()), reference(op, a, b)), 1e-7);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ElementwiseTest,
    ::testing::Combine(::testing::Values(ops::ElementwiseOp::add, ops::ElementwiseOp::mul,
                                         ops::ElementwiseOp::silu, ops::ElementwiseOp::swiglu),
                       ::testing::Values(1u, 255u, 257u, 100003u)),
    case_name);

// An offset that is not a multiple of minStorageBufferOffsetAlignment (one float in).
TEST_F(ElementwiseTest, MisalignedOffsets) {
  const uint64_t count = 1001;
  const auto a = random_floats(count + 1, 3);
  const auto b = random_floats(count + 3, 4);
  GuardedBuffer ga(context(), stream(), count + 1, "a");
  GuardedBuffer gb(context(), stream(), count + 3, "b");
  GuardedBuffer out(context(), stream(), count + 2, "out");
  ga.write(stream(), a);
  gb.write(stream(), b);
  ops::add(stream(), ga.span().sub(4, count * 4), gb.span().sub(12, count * 4),
           out.span().sub(8, count * 4), count);
  const std::vector<float> got = out.read(stream());
  for (uint64_t i = 0; i < count; ++i) {
    ASSERT_FLOAT_EQ(got[i + 2], a[i + 1] + b[i + 3]) << "at " << i;
  }
  EXPECT_EQ(std::bit_cast<uint32_t>(got[0]), GuardedBuffer::kSentinel);
  EXPECT_EQ(std::bit_cast<uint32_t>(got[1]), GuardedBuffer::kSentinel);
}

// A tensor larger than maxStorageBufferRange (128 MiB on lavapipe) is processed in chunks.
TEST_F(ElementwiseTest, TensorLargerThanMaxStorageBufferRange) {
  const uint64_t count = context().max_binding_range() / 4 + 4099;
  const auto a = random_floats(count, 5);
  const auto b = random_floats(count, 6);
  GuardedBuffer ga(context(), stream(), count, "a");
  GuardedBuffer gb(context(), stream(), count, "b");
  GuardedBuffer out(context(), stream(), count, "out");
  ga.write(stream(), a);
  gb.write(stream(), b);
  ops::mul(stream(), ga.span(), gb.span(), out.span(), count);
  EXPECT_LE(nmse(out.read(stream()), reference(ops::ElementwiseOp::mul, a, b)), 1e-7);
}

// The same splitting, cheaply, with a binding limit forced down to 4 KiB.
class ElementwiseSmallRangeTest : public GpuTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "4096", 1);
    GpuTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(ElementwiseSmallRangeTest, ChunksNeverExceedTheLimit) {
  ASSERT_EQ(context().max_binding_range(), 4096u);
  const uint64_t count = 10007;  // ~10 chunks, the last one partial, offsets misaligned
  const auto a = random_floats(count + 1, 9, -5.0f, 5.0f);
  const auto b = random_floats(count, 10);
  GuardedBuffer ga(context(), stream(), count + 1, "a");
  GuardedBuffer gb(context(), stream(), count, "b");
  GuardedBuffer out(context(), stream(), count, "out");
  ga.write(stream(), a);
  gb.write(stream(), b);
  ops::swiglu(stream(), ga.span().sub(4, count * 4), gb.span(), out.span(), count);
  const std::vector<float> shifted(a.begin() + 1, a.end());
  EXPECT_LE(nmse(out.read(stream()), reference(ops::ElementwiseOp::swiglu, shifted, b)), 1e-7);
  EXPECT_GE(stream().dispatch_count(), 10u);
}

}  // namespace
}  // namespace vkmoe::test
