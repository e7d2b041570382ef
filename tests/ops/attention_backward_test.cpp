// Causal GQA attention backward (prefill): the C++ reference backward against finite
// differences of the reference forward (double) in q, k and v; the kernels, fed by the GPU
// forward, against both; with cached positions before the queries, several query heads per
// key/value head, strided views, and the passes split over many dispatches (a forced small
// step, and the device's own loop bound on a long sequence).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/ops/attention.h"
#include "engine/ops/attention_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Case {
  uint32_t queries, first_position, q_heads, kv_heads, head_dim;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.queries << "q+" << c.first_position << " heads " << c.q_heads << "/" << c.kv_heads
      << " d" << c.head_dim;
}

// Packed layouts: q, out [T, Hq, D]; k, v [keys, Hkv, D]. The variables are [q..., k..., v...].
struct Layout {
  Case c;
  size_t keys() const { return size_t{c.first_position} + c.queries; }
  size_t q_size() const { return size_t{c.queries} * c.q_heads * c.head_dim; }
  size_t kv_size() const { return keys() * c.kv_heads * c.head_dim; }
  size_t q(size_t t, size_t h) const { return (t * c.q_heads + h) * c.head_dim; }
  size_t k(size_t j, size_t g) const { return q_size() + (j * c.kv_heads + g) * c.head_dim; }
  size_t v(size_t j, size_t g) const { return k(j, g) + kv_size(); }
  double scale() const { return 1.0 / std::sqrt(double(c.head_dim)); }
};

// P[t, h, j] for the visible keys (others 0).
std::vector<double> probabilities(const Layout& L, const std::vector<double>& x) {
  const Case& c = L.c;
  std::vector<double> prob(size_t{c.queries} * c.q_heads * L.keys(), 0.0);
  for (uint32_t t = 0; t < c.queries; ++t) {
    for (uint32_t h = 0; h < c.q_heads; ++h) {
      const uint32_t g = h / (c.q_heads / c.kv_heads);
      const size_t visible = size_t{c.first_position} + t + 1, row = (size_t{t} * c.q_heads + h);
      double top = -INFINITY, total = 0;
      std::vector<double> s(visible);
      for (size_t j = 0; j < visible; ++j) {
        for (uint32_t d = 0; d < c.head_dim; ++d) s[j] += x[L.q(t, h) + d] * x[L.k(j, g) + d];
        top = std::max(top, s[j] *= L.scale());
      }
      for (size_t j = 0; j < visible; ++j) total += s[j] = std::exp(s[j] - top);
      for (size_t j = 0; j < visible; ++j) prob[row * L.keys() + j] = s[j] / total;
    }
  }
  return prob;
}

std::vector<double> attention_forward(const Layout& L, const std::vector<double>& x) {
  const Case& c = L.c;
  const auto prob = probabilities(L, x);
  std::vector<double> out(L.q_size(), 0.0);
  for (uint32_t t = 0; t < c.queries; ++t) {
    for (uint32_t h = 0; h < c.q_heads; ++h) {
      const uint32_t g = h / (c.q_heads / c.kv_heads);
      const size_t row = size_t{t} * c.q_heads + h;
      for (size_t j = 0; j < L.keys(); ++j) {
        for (uint32_t d = 0; d < c.head_dim; ++d) {
          out[L.q(t, h) + d] += prob[row * L.keys() + j] * x[L.v(j, g) + d];
        }
      }
    }
  }
  return out;
}

// [dq..., dk..., dv...]
std::vector<double> attention_backward_reference(const Layout& L, const std::vector<double>& x,
                                                 const std::vector<double>& d_out) {
  const Case& c = L.c;
  const auto prob = probabilities(L, x);
  const auto out = attention_forward(L, x);
  std::vector<double> grad(x.size(), 0.0);
  for (uint32_t t = 0; t < c.queries; ++t) {
    for (uint32_t h = 0; h < c.q_heads; ++h) {
      const uint32_t g = h / (c.q_heads / c.kv_heads);
      const size_t row = size_t{t} * c.q_heads + h;
      double delta = 0;
      for (uint32_t d = 0; d < c.head_dim; ++d) delta += d_out[L.q(t, h) + d] * out[L.q(t, h) + d];
      for (size_t j = 0; j < L.keys(); ++j) {
        const double pr = prob[row * L.keys() + j];
        double dp = 0;
        for (uint32_t d = 0; d < c.head_dim; ++d) dp += d_out[L.q(t, h) + d] * x[L.v(j, g) + d];
        const double ds = pr * (dp - delta) * L.scale();
        for (uint32_t d = 0; d < c.head_dim; ++d) {
          grad[L.q(t, h) + d] += ds * x[L.k(j, g) + d];
          grad[L.k(j, g) + d] += ds * x[L.q(t, h) + d];
          grad[L.v(j, g) + d] += pr * d_out[L.q(t, h) + d];
        }
      }
    }
  }
  return grad;
}

TEST(AttentionBackwardReference, MatchesFiniteDifferences) {
  const Layout L{{3, 2, 4, 2, 3}};
  const auto x = to_double(random_floats(L.q_size() + 2 * L.kv_size(), 1, -1.5f, 1.5f));
  const auto r = to_double(random_floats(L.q_size(), 2));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& v) { return project(attention_forward(L, v), r); }, x);
  EXPECT_LE(max_relative_error(attention_backward_reference(L, x, r), fd), 1e-8);
}

class AttentionBackwardTest : public GpuTest, public ::testing::WithParamInterface<Case> {
 protected:
  // Runs the forward and backward kernels on packed tensors; returns [dq, dk, dv] and checks
  // them against the reference (and finite differences when small).
  void check(const Case& c, uint32_t max_per_dispatch) {
    const Layout L{c};
    const auto x = random_floats(L.q_size() + 2 * L.kv_size(), c.queries + c.head_dim, -1.5f, 1.5f);
    const auto d_out = random_floats(L.q_size(), 9);
    const auto part = [&](size_t first, size_t count) {
      return std::vector<float>(x.begin() + first, x.begin() + first + count);
    };
    GuardedBuffer q(context(), stream(), L.q_size(), "q");
    GuardedBuffer k(context(), stream(), L.kv_size(), "k");
    GuardedBuffer v(context(), stream(), L.kv_size(), "v");
    GuardedBuffer out(context(), stream(), L.q_size(), "out");
    GuardedBuffer gd_out(context(), stream(), L.q_size(), "d_out");
    GuardedBuffer dq(context(), stream(), L.q_size(), "dq");
    GuardedBuffer dk(context(), stream(), L.kv_size(), "dk");
    GuardedBuffer dv(context(), stream(), L.kv_size(), "dv");
    q.write(stream(), part(0, L.q_size()));
    k.write(stream(), part(L.q_size(), L.kv_size()));
    v.write(stream(), part(L.q_size() + L.kv_size(), L.kv_size()));
    gd_out.write(stream(), d_out);
    const ops::AttentionShape shape =
        ops::AttentionShape::packed(c.queries, c.first_position, c.q_heads, c.kv_heads, c.head_dim);
    const uint64_t forward_scratch = ops::attention_scratch_bytes(context().info(), shape);
    vk::Buffer scratch = context().create_buffer(
        std::max<uint64_t>({forward_scratch, ops::attention_backward_scratch_bytes(shape), 4}),
        "scratch");
    ops::attention(stream(), q.span(), k.span(), v.span(), out.span(), scratch.span(), shape);
    const uint64_t before = stream().dispatch_count();
    ops::attention_backward(stream(), {.shape = shape,
                                       .q = q.span(),
                                       .k_cache = k.span(),
                                       .v_cache = v.span(),
                                       .out = out.span(),
                                       .d_out = gd_out.span(),
                                       .dq = dq.span(),
                                       .dk = dk.span(),
                                       .dv = dv.span(),
                                       .scratch = scratch.span(),
                                       .max_per_dispatch = max_per_dispatch});
    backward_dispatches = stream().dispatch_count() - before;
    std::vector<float> grad = dq.read(stream());
    for (const GuardedBuffer* b : {&dk, &dv}) {
      const auto part_read = b->read(stream());
      grad.insert(grad.end(), part_read.begin(), part_read.end());
    }
    const auto xd = to_double(x), rd = to_double(d_out);
    EXPECT_LE(nmse_double(grad, attention_backward_reference(L, xd, rd)), 1e-7);
    if (xd.size() <= 400) {
      const auto fd = numeric_gradient(
          [&](const std::vector<double>& point) {
            return project(attention_forward(L, point), rd);
          },
          xd);
      EXPECT_LE(max_relative_error(grad, fd), 1e-5);
    }
  }

  uint64_t backward_dispatches = 0;
};

TEST_P(AttentionBackwardTest, MatchesFiniteDifferencesAndReference) {
  check(GetParam(), 0);
}

// Every pass split into dispatches of 2 keys or queries: state carried through the buffers.
TEST_P(AttentionBackwardTest, SplitIntoSmallDispatches) {
  check(GetParam(), 2);
  const Case c = GetParam();
  const uint64_t keys = c.first_position + c.queries;
  EXPECT_EQ(backward_dispatches, 2 * ((keys + 1) / 2) + (c.queries + 1) / 2);
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionBackwardTest,
                         ::testing::Values(Case{1, 0, 1, 1, 1}, Case{4, 0, 2, 2, 4},
                                           Case{5, 3, 4, 2, 3}, Case{6, 0, 6, 2, 8},
                                           Case{17, 5, 4, 1, 40}));

// A sequence long enough that the device's own loop bound splits the passes (on lavapipe).
TEST_F(AttentionBackwardTest, LongSequenceWithinTheLoopBound) {
  check({300, 0, 2, 1, 64}, 0);
  if (context().info().max_loop_iterations != 0) {
    EXPECT_GT(backward_dispatches, 3u) << "the loop bound did not split any pass";
  }
}

TEST_F(AttentionBackwardTest, RejectsBadShapes) {
  vk::Buffer b = context().create_buffer(1 << 16, "b");
  const vk::BufferSpan s = b.span().sub(0, 4096);
  const auto args = [&](ops::AttentionShape shape) {
    return ops::AttentionBackwardArgs{shape,
                                      s,
                                      s,
                                      s,
                                      s,
                                      s,
                                      b.span().sub(8192, 4096),
                                      b.span().sub(16384, 4096),
                                      b.span().sub(24576, 4096),
                                      b.span().sub(32768, 4096)};
  };
  EXPECT_THROW(ops::attention_backward(stream(), args(ops::AttentionShape::packed(2, 0, 3, 2, 8))),
               Error);  // heads not a multiple
  EXPECT_THROW(
      ops::attention_backward(stream(), args(ops::AttentionShape::packed(2, 0, 2, 1, 300))),
      Error);  // head_dim
  EXPECT_THROW(
      ops::attention_backward(stream(), args(ops::AttentionShape::packed(200, 0, 4, 4, 64))),
      Error);  // too small
  auto overlapping = args(ops::AttentionShape::packed(2, 0, 2, 1, 8));
  overlapping.dq = s;
  EXPECT_THROW(ops::attention_backward(stream(), overlapping), Error);
}

class AttentionBackwardSmallBindingTest : public AttentionBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    AttentionBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

// Tensors are bound whole: one larger than a binding is refused, never bound past the limit.
TEST_F(AttentionBackwardSmallBindingTest, RefusesTensorsLargerThanOneBinding) {
  const ops::AttentionShape shape = ops::AttentionShape::packed(40, 0, 2, 1, 16);  // q: 5 KiB
  vk::Buffer b = context().create_buffer(9 * 8192, "b");
  const auto at = [&](uint64_t i) { return b.span().sub(i * 8192, 8192); };
  try {
    ops::attention_backward(stream(),
                            {shape, at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), at(8)});
    FAIL() << "a 5 KiB q was bound with a 2 KiB binding limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than one binding"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkmoe::test
