// Backward of the multiple-choice cross-entropy over the answer tokens' logits: the C++
// reference against finite differences of the reference loss (double) over the whole
// vocabulary row, the kernel against both, for one-hot and soft targets, either reduction,
// and a large vocabulary (zero outside the answers).
#include <bit>
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "engine/ops/choice_loss_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Case {
  uint32_t rows, vocab;
  std::vector<uint32_t> answers;
};

double choice_loss(const Case& c, const std::vector<double>& logits,
                   const std::vector<double>& targets) {
  const size_t C = c.answers.size();
  double loss = 0;
  for (uint32_t r = 0; r < c.rows; ++r) {
    double top = -INFINITY, total = 0;
    for (uint32_t a : c.answers) top = std::max(top, logits[r * c.vocab + a]);
    for (uint32_t a : c.answers) total += std::exp(logits[r * c.vocab + a] - top);
    for (size_t j = 0; j < C; ++j) {
      const double log_p = logits[r * c.vocab + c.answers[j]] - top - std::log(total);
      loss -= targets[r * C + j] * log_p;
    }
  }
  return loss;
}

std::vector<double> choice_loss_backward_reference(const Case& c, const std::vector<double>& logits,
                                                   const std::vector<double>& targets) {
  const size_t C = c.answers.size();
  std::vector<double> grad(logits.size(), 0.0);
  for (uint32_t r = 0; r < c.rows; ++r) {
    double top = -INFINITY, total = 0, target_sum = 0;
    for (uint32_t a : c.answers) top = std::max(top, logits[r * c.vocab + a]);
    for (uint32_t a : c.answers) total += std::exp(logits[r * c.vocab + a] - top);
    for (size_t j = 0; j < C; ++j) target_sum += targets[r * C + j];
    for (size_t j = 0; j < C; ++j) {
      const double p = std::exp(logits[r * c.vocab + c.answers[j]] - top) / total;
      grad[r * c.vocab + c.answers[j]] = target_sum * p - targets[r * C + j];
    }
  }
  return grad;
}

// One-hot targets for even rows, soft (positive, not normalised) ones for odd rows.
std::vector<float> make_targets(const Case& c) {
  const size_t C = c.answers.size();
  std::vector<float> targets(c.rows * C, 0.0f);
  const auto soft = random_floats(c.rows * C, 7, 0.0f, 1.0f);
  for (uint32_t r = 0; r < c.rows; ++r) {
    for (size_t j = 0; j < C; ++j) {
      targets[r * C + j] = r % 2 ? soft[r * C + j] : (j == r % C ? 1.0f : 0.0f);
    }
  }
  return targets;
}

TEST(ChoiceLossBackwardReference, MatchesFiniteDifferences) {
  const Case c{3, 12, {7, 2, 10, 4}};
  const auto logits = to_double(random_floats(c.rows * c.vocab, 1, -3.0f, 3.0f));
  const auto targets = to_double(make_targets(c));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& v) { return choice_loss(c, v, targets); }, logits);
  EXPECT_LE(max_relative_error(choice_loss_backward_reference(c, logits, targets), fd), 1e-8);
}

// The kernel's four tensors for one case, guarded, with logits, answers and targets uploaded.
struct ChoiceLossBuffers {
  static std::vector<float> answer_words(const Case& c) {
    std::vector<float> words;
    for (uint32_t a : c.answers) words.push_back(std::bit_cast<float>(a));
    return words;
  }
  ChoiceLossBuffers(vk::Context& context, vk::Stream& stream, const Case& c,
                    const std::vector<float>& logit_values, const std::vector<float>& target_values)
      : logits(context, stream, logit_values.size(), "logits"),
        answers(context, stream, c.answers.size(), "answers"),
        targets(context, stream, target_values.size(), "targets"),
        d_logits(context, stream, logit_values.size(), "d_logits") {
    logits.write(stream, logit_values);
    answers.write(stream, answer_words(c));
    targets.write(stream, target_values);
  }
  GuardedBuffer logits, answers, targets, d_logits;
};

class ChoiceLossBackwardTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::RowReduction, uint32_t>> {};

TEST_P(ChoiceLossBackwardTest, MatchesFiniteDifferencesAndReference) {
  const auto [reduction, which] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  const Case cases[] = {{1, 1, {0}}, {4, 40, {3, 39, 0, 17}}, {3, 5000, {4999, 12, 700, 3, 2500}}};
  const Case& c = cases[which];
  const auto logits = random_floats(c.rows * c.vocab, c.vocab, -4.0f, 4.0f);
  const auto targets = make_targets(c);
  ChoiceLossBuffers buffers(context(), stream(), c, logits, targets);
  GuardedBuffer &gl = buffers.logits, &ga = buffers.answers, &gt = buffers.targets,
                &gd = buffers.d_logits;
  gd.write(stream(), random_floats(logits.size(), 9));  // all of it must be overwritten
  ops::choice_loss_backward(stream(), {gl.span(), ga.span(), gt.span(), gd.span(), c.rows, c.vocab,
                                       static_cast<uint32_t>(c.answers.size()), reduction});
  const auto grad = gd.read(stream());
  const auto ld = to_double(logits), td = to_double(targets);
  const auto expected = choice_loss_backward_reference(c, ld, td);
  EXPECT_LE(nmse_double(grad, expected), 1e-7);
  for (size_t i = 0; i < grad.size(); ++i) {
    if (expected[i] == 0.0) {
      ASSERT_EQ(grad[i], 0.0f) << "entry " << i;
    }
  }
  if (ld.size() <= 200) {
    const auto fd =
        numeric_gradient([&](const std::vector<double>& v) { return choice_loss(c, v, td); }, ld);
    EXPECT_LE(max_relative_error(grad, fd), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ChoiceLossBackwardTest,
                         ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                                              ops::RowReduction::subgroup),
                                            ::testing::Values(0u, 1u, 2u)));

TEST_F(ChoiceLossBackwardTest, RejectsBadShapes) {
  vk::Buffer b = context().create_buffer(1 << 16, "b");
  const vk::BufferSpan s = b.span();
  // more answers than the vocabulary
  EXPECT_THROW(
      ops::choice_loss_backward(stream(), {s.sub(0, 4096), s.sub(4096, 4096), s.sub(8192, 4096),
                                           s.sub(16384, 4096), 1, 4, 5}),
      Error);
  // d_logits over the logits
  EXPECT_THROW(ops::choice_loss_backward(stream(), {s.sub(0, 4096), s.sub(4096, 4096),
                                                    s.sub(8192, 4096), s.sub(0, 4096), 1, 100, 2}),
               Error);
}

class ChoiceLossBackwardSmallBindingTest : public ChoiceLossBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    ChoiceLossBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(ChoiceLossBackwardSmallBindingTest, SplitsRows) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  const Case c{12, 200, {5, 199, 0}};
  const auto logits = random_floats(c.rows * c.vocab, 1, -3.0f, 3.0f);
  const auto targets = make_targets(c);
  ChoiceLossBuffers buffers(context(), stream(), c, logits, targets);
  GuardedBuffer &gl = buffers.logits, &ga = buffers.answers, &gt = buffers.targets,
                &gd = buffers.d_logits;
  const uint64_t before = stream().dispatch_count();
  ops::choice_loss_backward(stream(),
                            {gl.span(), ga.span(), gt.span(), gd.span(), c.rows, c.vocab, 3});
  EXPECT_GT(stream().dispatch_count() - before, 4u);
  EXPECT_LE(nmse_double(gd.read(stream()),
                        choice_loss_backward_reference(c, to_double(logits), to_double(targets))),
            1e-7);
}

}  // namespace
}  // namespace vkmoe::test
