// SwiGLU backward (a = silu(gate) · up): the C++ reference against finite differences of the
// reference forward (double), the kernel against both, for gate and up, with counts that
// are not multiples of a workgroup and tensors split over bindings.
#include <cmath>
#include <cstdlib>

#include "engine/ops/swiglu_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// gate and up concatenated: [gate..., up...] -> a
std::vector<double> swiglu_forward(const std::vector<double>& gate_up) {
  const size_t n = gate_up.size() / 2;
  std::vector<double> a(n);
  for (size_t i = 0; i < n; ++i) {
    const double g = gate_up[i];
    a[i] = g / (1.0 + std::exp(-g)) * gate_up[n + i];
  }
  return a;
}

// [d_gate..., d_up...]
std::vector<double> swiglu_backward_reference(const std::vector<double>& gate_up,
                                              const std::vector<double>& da) {
  const size_t n = da.size();
  std::vector<double> d(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const double g = gate_up[i], u = gate_up[n + i];
    const double s = 1.0 / (1.0 + std::exp(-g));
    d[i] = da[i] * u * s * (1.0 + g * (1.0 - s));
    d[n + i] = da[i] * g * s;
  }
  return d;
}

TEST(SwigluBackwardReference, MatchesFiniteDifferences) {
  const auto gate_up = to_double(random_floats(2 * 20, 1, -4.0f, 4.0f));
  const auto r = to_double(random_floats(20, 2));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& v) { return project(swiglu_forward(v), r); }, gate_up);
  EXPECT_LE(max_relative_error(swiglu_backward_reference(gate_up, r), fd), 1e-8);
}

class SwigluBackwardTest : public GpuTest {
 protected:
  void check(uint64_t n, bool finite_differences) {
    const auto gate = random_floats(n, 3, -6.0f, 6.0f);
    const auto up = random_floats(n, 4, -2.0f, 2.0f);
    const auto da = random_floats(n, 5);
    GuardedBuffer gg(context(), stream(), n, "gate");
    GuardedBuffer gu(context(), stream(), n, "up");
    GuardedBuffer gda(context(), stream(), n, "da");
    GuardedBuffer gdg(context(), stream(), n, "d_gate");
    GuardedBuffer gdu(context(), stream(), n, "d_up");
    gg.write(stream(), gate);
    gu.write(stream(), up);
    gda.write(stream(), da);
    ops::swiglu_backward(stream(), {gg.span(), gu.span(), gda.span(), gdg.span(), gdu.span(), n});
    std::vector<float> d = gdg.read(stream());
    const std::vector<float> d_up = gdu.read(stream());
    d.insert(d.end(), d_up.begin(), d_up.end());
    std::vector<double> gate_up = to_double(gate);
    gate_up.insert(gate_up.end(), up.begin(), up.end());
    const auto dad = to_double(da);
    EXPECT_LE(nmse_double(d, swiglu_backward_reference(gate_up, dad)), 1e-7) << n;
    if (finite_differences) {
      const auto fd = numeric_gradient(
          [&](const std::vector<double>& v) { return project(swiglu_forward(v), dad); }, gate_up);
      EXPECT_LE(max_relative_error(d, fd), 1e-5) << n;
    }
  }
};

TEST_F(SwigluBackwardTest, MatchesFiniteDifferencesAndReference) {
  check(1, true);
  check(300, true);
  check(5000, false);
}

TEST_F(SwigluBackwardTest, RejectsOverlap) {
  vk::Buffer buffer = context().create_buffer(4096, "b");
  vk::BufferSpan s = buffer.span();
  EXPECT_THROW(ops::swiglu_backward(stream(), {s.sub(0, 400), s.sub(400, 400), s.sub(800, 400),
                                               s.sub(0, 400), s.sub(1200, 400), 100}),
               Error);
}

class SwigluBackwardSmallBindingTest : public SwigluBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    SwigluBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(SwigluBackwardSmallBindingTest, SplitsElements) {
  const uint64_t before = stream().dispatch_count();
  check(3000, false);
  EXPECT_GT(stream().dispatch_count() - before, 4u);
}

}  // namespace
}  // namespace vkmoe::test
