// The host sampler: greedy and its degenerate cuts, the truncated distribution against hand
// computation, reproducibility by seed, and sampled frequencies against the distribution.
#include "engine/model/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "engine/vk/error.h"

namespace vkmoe::model {
namespace {

// softmax at T = 1 of these: 1/15, 2/15, 4/15, 8/15 (ids 0..3), plus two near-zero tokens.
const std::vector<float> kLogits = {0.0f,           std::log(2.0f),
                                    std::log(4.0f), std::log(8.0f),
                                    -30.0f,         -std::numeric_limits<float>::infinity()};

std::vector<float> random_logits(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(n);
  for (float& x : logits) x = normal(rng);
  return logits;
}

TEST(Sampler, GreedyPicksTheArgmax) {
  const std::vector<float> logits = random_logits(1000, 7);
  const auto best =
      static_cast<uint32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  Sampler greedy({.temperature = 0.0f, .top_k = 40, .top_p = 0.5f, .seed = 1});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(greedy.sample(logits), best);
  EXPECT_EQ(argmax(kLogits), 3u);
  EXPECT_EQ(argmax(std::vector<float>{1.0f, 5.0f, 5.0f}), 1u);  // ties: the lower id
}

TEST(Sampler, TopKOneIsGreedy) {
  const std::vector<float> logits = random_logits(1000, 8);
  Sampler sampler({.temperature = 1.5f, .top_k = 1, .top_p = 1.0f, .seed = 3});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sampler.sample(logits), argmax(logits));
}

TEST(Sampler, TinyTopPIsTheArgmax) {
  const std::vector<float> logits = random_logits(1000, 9);
  Sampler sampler({.temperature = 1.0f, .top_k = 0, .top_p = 1e-6f, .seed = 4});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sampler.sample(logits), argmax(logits));
}

TEST(Sampler, TruncatedDistributionByHand) {
  const auto full =
      truncated_distribution(kLogits, {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 0});
  ASSERT_EQ(full.size(), kLogits.size());
  const double expected[] = {8.0 / 15, 4.0 / 15, 2.0 / 15, 1.0 / 15};
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(full[i].id, 3 - i);
    EXPECT_NEAR(full[i].probability, expected[i], 1e-6);
  }
  EXPECT_EQ(full[5].probability, 0.0);  // -inf logit
  // top-k 3 renormalises to 8/14, 4/14, 2/14; top-p 0.8 then keeps 8/14 + 4/14 ≥ 0.8.
  const auto cut =
      truncated_distribution(kLogits, {.temperature = 1.0f, .top_k = 3, .top_p = 0.8f, .seed = 0});
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_NEAR(cut[0].probability, 2.0 / 3, 1e-6);
  EXPECT_NEAR(cut[1].probability, 1.0 / 3, 1e-6);
  // T = 0.5 squares the odds: 64, 16, 4, 1 (of 85).
  const auto cold =
      truncated_distribution(kLogits, {.temperature = 0.5f, .top_k = 4, .top_p = 1.0f, .seed = 0});
  EXPECT_NEAR(cold[0].probability, 64.0 / 85, 1e-6);
  EXPECT_NEAR(cold[3].probability, 1.0 / 85, 1e-6);
}

TEST(Sampler, ASeedReproducesARun) {
  const std::vector<float> logits = random_logits(500, 10);
  const SamplerOptions options{.temperature = 1.0f, .top_k = 50, .top_p = 0.9f, .seed = 1234};
  Sampler a(options), b(options), c({.temperature = 1.0f, .top_k = 50, .top_p = 0.9f, .seed = 99});
  std::vector<uint32_t> run_a, run_b, run_c;
  for (int i = 0; i < 200; ++i) {
    run_a.push_back(a.sample(logits));
    run_b.push_back(b.sample(logits));
    run_c.push_back(c.sample(logits));
  }
  EXPECT_EQ(run_a, run_b);
  EXPECT_NE(run_a, run_c);
}

// N draws; each surviving token's count is Binomial(N, p): its frequency must lie within 5
// standard deviations sqrt(p(1-p)/N) of p (a chance failure ~6e-7 per token, and the seed is
// fixed, so the test is deterministic). Tokens cut by top-k / top-p must never be drawn.
TEST(Sampler, FrequenciesMatchTheTruncatedDistribution) {
  const std::vector<float> logits = random_logits(64, 11);
  const SamplerOptions options{.temperature = 0.7f, .top_k = 12, .top_p = 0.9f, .seed = 42};
  const auto expected = truncated_distribution(logits, options);
  ASSERT_GT(expected.size(), 1u);
  Sampler sampler(options);
  constexpr int kDraws = 200000;
  std::map<uint32_t, int> counts;
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.sample(logits)];
  double total = 0;
  for (const TokenProbability& t : expected) {
    const double p = t.probability;
    const double frequency = counts[t.id] / static_cast<double>(kDraws);
    EXPECT_NEAR(frequency, p, 5 * std::sqrt(p * (1 - p) / kDraws)) << "token " << t.id;
    total += counts[t.id];
    counts.erase(t.id);
  }
  EXPECT_EQ(total, kDraws);
  EXPECT_TRUE(counts.empty()) << "drew a token outside top-k/top-p";
}

TEST(Sampler, RejectsBadOptionsAndLogits) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = 0, .top_p = 0.0f}), Error);
  Sampler sampler({.temperature = 1.0f});
  EXPECT_THROW(sampler.sample(std::vector<float>{}), Error);
  EXPECT_THROW(sampler.sample(std::vector<float>{1.0f, std::nanf("")}), Error);
}

}  // namespace
}  // namespace vkmoe::model
