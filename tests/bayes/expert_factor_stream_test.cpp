#include "engine/bayes/expert_factor_stream.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/bayes/bayes_error.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

std::vector<float> as_float(const dense::Matrix& m) {
  return {m.data.begin(), m.data.end()};
}

// Chunks of tokens whose total Gram matrices have rank ≤ r: the streamed posterior equals the
// dense one built from the summed factors (up to the f32 of the Gram matrices).
TEST(ExpertFactorStream, StreamedPosteriorMatchesTheDenseSum) {
  const std::int64_t h = 4, i = 3, rank = 3;
  const dense::Matrix grads = dense::gaussian(h, 2, 90), acts = dense::gaussian(i, 3, 91);
  ExpertFactorStream stream(h, i, rank);
  dense::Matrix g_total(h, h), a_total(i, i);
  // chunk 1: token 0; chunk 2: nothing routed; chunk 3: tokens 1 and 2 (grads reuse column 1)
  for (const auto& tokens : std::vector<std::vector<std::int64_t>>{{0}, {}, {1, 2}}) {
    dense::Matrix g(h, h), a(i, i);
    for (std::int64_t t : tokens) {
      for (std::int64_t x = 0; x < h; ++x)
        for (std::int64_t y = 0; y < h; ++y) g(x, y) += grads(x, t % 2) * grads(y, t % 2);
      for (std::int64_t x = 0; x < i; ++x)
        for (std::int64_t y = 0; y < i; ++y) a(x, y) += acts(x, t) * acts(y, t);
    }
    g_total = dense::add(g_total, g);
    a_total = dense::add(a_total, a);
    stream.add_chunk(as_float(g), as_float(a), static_cast<std::int64_t>(tokens.size()));
  }
  EXPECT_EQ(stream.tokens(), 3);
  EXPECT_EQ(stream.g().chunks(), 2);  // the empty chunk was skipped
  const KronExpertFactors f = stream.factors();
  EXPECT_EQ(f.tokens, 3.0);
  EXPECT_EQ(f.g.count(), rank);
  const PosteriorScale s{0.5, 1.0};
  dense::Matrix p = dense::kron(a_total, g_total);
  for (double& x : p.data) x /= 3.0;
  p = dense::add(p, dense::identity(p.rows), 0.5);
  EXPECT_NEAR(log_det_precision(f, s), dense::log_det_spd(p), 1e-5);
}

TEST(ExpertFactorStream, BadChunksLeaveTheStreamUnchanged) {
  ExpertFactorStream stream(3, 2, 2);
  EXPECT_THROW(stream.add_chunk(std::vector<float>(9), std::vector<float>(3), 1), BayesError);
  EXPECT_THROW(stream.add_chunk(std::vector<float>(9), std::vector<float>(4), -1), BayesError);
  EXPECT_EQ(stream.tokens(), 0);
  EXPECT_EQ(stream.g().chunks(), 0);
  EXPECT_THROW(ExpertFactorStream(0, 2, 2), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
