#include "engine/bayes/sampler_layout.h"

#include <gtest/gtest.h>

#include "engine/bayes/bayes_error.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

KronExpertFactors expert(std::int64_t h, std::int64_t i, std::int64_t rg, std::int64_t ra,
                         double tokens, std::uint64_t seed) {
  KronExpertFactors f;
  const dense::Matrix g = dense::gram(dense::gaussian(h, rg, seed));
  const dense::Matrix a = dense::gram(dense::gaussian(i, ra, seed + 1));
  f.g = symmetric_eigen_top(g.data, h, rg);
  f.a = symmetric_eigen_top(a.data, i, ra);
  f.tokens = tokens;
  return f;
}

TEST(SamplerLayout, PadsEveryExpertToOneRank) {
  const std::vector<KronExpertFactors> experts = {expert(5, 3, 2, 3, 7, 1),
                                                  expert(5, 3, 1, 1, 0, 2)};
  const SamplerBuffers b = pack_for_sampler(experts, 4);
  ASSERT_EQ(b.q_g.size(), 2u * 5 * 4);
  ASSERT_EQ(b.q_a.size(), 2u * 3 * 4);
  ASSERT_EQ(b.spectra.size(), 2u * 9);
  // expert 0: G column 1 at [0, row, 1], A column 2 at [0, row, 2], columns beyond zero
  for (std::int64_t row = 0; row < 5; ++row) {
    EXPECT_EQ(b.q_g[row * 4 + 1], static_cast<float>(experts[0].g.vector(row, 1)));
    EXPECT_EQ(b.q_g[row * 4 + 2], 0.0f);
    EXPECT_EQ(b.q_g[row * 4 + 3], 0.0f);
  }
  for (std::int64_t row = 0; row < 3; ++row) {
    EXPECT_EQ(b.q_a[row * 4 + 2], static_cast<float>(experts[0].a.vector(row, 2)));
    EXPECT_EQ(b.q_a[row * 4 + 3], 0.0f);
    // expert 1 starts one [i, rank] block further
    EXPECT_EQ(b.q_a[3 * 4 + row * 4 + 0], static_cast<float>(experts[1].a.vector(row, 0)));
  }
  // spectra: λᴳ padded, λᴬ padded, M
  EXPECT_EQ(b.spectra[0], static_cast<float>(experts[0].g.values[0]));
  EXPECT_EQ(b.spectra[2], 0.0f);
  EXPECT_EQ(b.spectra[4 + 2], static_cast<float>(experts[0].a.values[2]));
  EXPECT_EQ(b.spectra[8], 7.0f);
  EXPECT_EQ(b.spectra[9 + 1], 0.0f);
  EXPECT_EQ(b.spectra[9 + 8], 0.0f);  // the expert no token reached
}

// Zero-padded directions change nothing: the posterior read back from the padded buffers has
// the same log det and sampling scale on the real directions, and scale 0 on the padding.
TEST(SamplerLayout, PaddingIsInvisibleToThePosterior) {
  const std::vector<KronExpertFactors> experts = {expert(4, 3, 2, 2, 9, 5)};
  const SamplerBuffers b = pack_for_sampler(experts, 3);
  KronExpertFactors padded;
  padded.g.n = 4;
  padded.a.n = 3;
  padded.g.vectors.assign(b.q_g.begin(), b.q_g.end());
  padded.a.vectors.assign(b.q_a.begin(), b.q_a.end());
  padded.g.values.assign(b.spectra.begin(), b.spectra.begin() + 3);
  padded.a.values.assign(b.spectra.begin() + 3, b.spectra.begin() + 6);
  padded.tokens = b.spectra[6];
  const PosteriorScale s{0.3, 1.2};
  EXPECT_NEAR(log_det_precision(padded, s), log_det_precision(experts[0], s), 1e-5);
  const std::vector<double> scale = sampling_scale(padded, s);
  EXPECT_EQ(scale[0 * 3 + 2], 0.0);
  EXPECT_EQ(scale[2 * 3 + 0], 0.0);
  EXPECT_LT(scale[0], 0.0);
}

TEST(SamplerLayout, RefusesMixedShapesAndRanksAboveTheTarget) {
  EXPECT_THROW(
      pack_for_sampler(
          std::vector<KronExpertFactors>{expert(4, 3, 2, 2, 1, 1), expert(4, 2, 2, 2, 1, 2)}, 2),
      BayesError);
  EXPECT_THROW(pack_for_sampler(std::vector<KronExpertFactors>{expert(4, 3, 3, 2, 1, 1)}, 2),
               BayesError);
  EXPECT_THROW(pack_for_sampler({}, 2), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
