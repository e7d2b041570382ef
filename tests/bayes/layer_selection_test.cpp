#include "engine/bayes/layer_selection.h"

#include <gtest/gtest.h>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {
namespace {

// `layers` layers, the first `dense` of them dense (DeepSeek-MoE: one).
ModelConfig layered(std::int64_t layers, std::int64_t dense) {
  ModelConfig c;
  c.num_layers = layers;
  for (std::int64_t l = 0; l < layers; ++l)
    c.ffn.push_back(l < dense ? FfnKind::kDense : FfnKind::kMoe);
  return c;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> v;
  for (std::int64_t l = first; l <= last; ++l) v.push_back(l);
  return v;
}

TEST(LayerSelection, AllIsEveryMoeLayer) {
  EXPECT_EQ(select_layers("all", layered(24, 0)), range(0, 23));
  EXPECT_EQ(select_layers("all", layered(28, 1)), range(1, 27));
}

TEST(LayerSelection, QuartersSplitTheMoeLayersInDepthOrder) {
  const ModelConfig qwen = layered(24, 0);
  EXPECT_EQ(select_layers("q1", qwen), range(0, 5));
  EXPECT_EQ(select_layers("q2", qwen), range(6, 11));
  EXPECT_EQ(select_layers("q4", qwen), range(18, 23));
  const ModelConfig deepseek = layered(28, 1);  // 27 MoE layers: 6, 7, 7, 7
  EXPECT_EQ(select_layers("q1", deepseek), range(1, 6));
  EXPECT_EQ(select_layers("q2", deepseek), range(7, 13));
  EXPECT_EQ(select_layers("q3", deepseek), range(14, 20));
  EXPECT_EQ(select_layers("q4", deepseek), range(21, 27));
  std::size_t total = 0;
  for (const char* q : {"q1", "q2", "q3", "q4"}) total += select_layers(q, deepseek).size();
  EXPECT_EQ(total, 27u);
}

TEST(LayerSelection, QuartersOfFewLayersMayBeEmpty) {
  const ModelConfig two = layered(2, 0);  // quarters ⌊(k−1)·2/4⌋ ≤ j < ⌊k·2/4⌋: {}, {0}, {}, {1}
  EXPECT_TRUE(layer_quarter(1, two).empty());
  EXPECT_EQ(layer_quarter(2, two), range(0, 0));
  EXPECT_TRUE(layer_quarter(3, two).empty());
  EXPECT_EQ(layer_quarter(4, two), range(1, 1));
  EXPECT_EQ(layer_quarter(3, layered(4, 0)), range(2, 2));
  EXPECT_THROW(select_layers("q1", two), BayesError);  // --layers still refuses an empty one
  EXPECT_THROW(layer_quarter(0, two), BayesError);
  EXPECT_THROW(layer_quarter(5, two), BayesError);
}

TEST(LayerSelection, RangesAreInclusiveAndSkipDenseLayers) {
  const ModelConfig deepseek = layered(28, 1);
  EXPECT_EQ(select_layers("0-3", deepseek), range(1, 3));
  EXPECT_EQ(select_layers("5-5", deepseek), range(5, 5));
  EXPECT_EQ(select_layers("12", deepseek), range(12, 12));
  EXPECT_EQ(select_layers("20-27", deepseek), range(20, 27));
}

TEST(LayerSelection, RefusesWhatItCannotSelect) {
  const ModelConfig deepseek = layered(28, 1);
  for (const char* bad : {"", "q5", "q0", "Q1", "3-", "-3", "5-2", "0-28", "a-b", "1-2-3", "0"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(select_layers(bad, deepseek), BayesError);
  }
  try {
    select_layers("0", deepseek);
  } catch (const BayesError& e) {
    EXPECT_STREQ(e.what(), "--layers '0': selects no MoE layer of this model");
  }
}

TEST(LayerSelection, Describes) {
  EXPECT_EQ(describe_layers(range(1, 27)), "1-27");
  EXPECT_EQ(describe_layers({4}), "4");
  EXPECT_EQ(describe_layers({1, 3, 4}), "1,3,4");
  EXPECT_EQ(describe_layers({}), "");
}

}  // namespace
}  // namespace vkmoe::bayes
