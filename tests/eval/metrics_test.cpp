// Accuracy, ECE, NLL and Brier against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/eval/metrics.h"
#include "engine/vk/error.h"

namespace vkmoe::eval {
namespace {

using Probabilities = std::vector<std::vector<double>>;

TEST(ConfidenceBin, EdgesBelongToTheBinBelow) {
  EXPECT_EQ(confidence_bin(0.0, 15), 0u);  // exactly 0: bin 0 by convention
  EXPECT_EQ(confidence_bin(1e-9, 15), 0u);
  for (std::size_t b = 1; b <= 15; ++b) {
    const double edge = static_cast<double>(b) / 15.0;
    EXPECT_EQ(confidence_bin(edge, 15), b - 1) << "edge " << b << "/15";
    if (b < 15) {
      EXPECT_EQ(confidence_bin(std::nextafter(edge, 2.0), 15), b) << "just above " << b << "/15";
    }
  }
  EXPECT_EQ(confidence_bin(0.2, 15), 2u);  // the double nearest 3/15
  EXPECT_EQ(confidence_bin(1.0, 15), 14u);
  EXPECT_EQ(confidence_bin(0.5, 2), 0u);
  EXPECT_EQ(confidence_bin(0.51, 2), 1u);
}

TEST(ClassificationMetrics, PerfectPredictor) {
  const Probabilities p = {{1, 0, 0}, {0, 1}, {0, 0, 0, 1}};
  const std::vector<int> y = {0, 1, 3};
  const ClassificationMetrics m = classification_metrics(p, y);
  EXPECT_EQ(m.examples, 3u);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.ece, 0.0);
  EXPECT_DOUBLE_EQ(m.nll, 0.0);
  EXPECT_DOUBLE_EQ(m.brier, 0.0);
  ASSERT_EQ(m.bins.size(), kEceBins);
  EXPECT_EQ(m.bins[14].count, 3u);
  EXPECT_DOUBLE_EQ(m.bins[14].mean_confidence, 1.0);
  EXPECT_DOUBLE_EQ(m.bins[14].accuracy, 1.0);
}

TEST(ClassificationMetrics, ConfidentlyWrongPredictor) {
  const Probabilities p = {{0, 1}, {1, 0, 0}};
  const std::vector<int> y = {0, 2};
  const ClassificationMetrics m = classification_metrics(p, y);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(m.ece, 1.0);
  EXPECT_DOUBLE_EQ(m.nll, -std::log(kProbabilityFloor));  // finite despite p_true = 0
  EXPECT_DOUBLE_EQ(m.brier, 2.0);
}

// Three examples with 2, 3 and 5 classes:
//   A {0.7, 0.3},            y 0: top 0.7 (bin 10: (10/15, 11/15]), right
//   B {0.2, 0.5, 0.3},       y 2: top 0.5 (bin 7: (7/15, 8/15]),   wrong
//   C {0.1, 0.1, 0.6, 0.1, 0.1}, y 2: top 0.6 (bin 8: (8/15, 9/15]), right
// accuracy 2/3; ECE = (|1 − 0.7| + |0 − 0.5| + |1 − 0.6|)/3 = 1.2/3 = 0.4;
// NLL = −(ln 0.7 + ln 0.3 + ln 0.6)/3;
// Brier = (0.09 + 0.09  +  0.04 + 0.25 + 0.49  +  0.01·4 + 0.16)/3 = 1.16/3.
TEST(ClassificationMetrics, RaggedClassesByHand) {
  const Probabilities p = {{0.7, 0.3}, {0.2, 0.5, 0.3}, {0.1, 0.1, 0.6, 0.1, 0.1}};
  const std::vector<int> y = {0, 2, 2};
  const ClassificationMetrics m = classification_metrics(p, y);
  EXPECT_DOUBLE_EQ(m.accuracy, 2.0 / 3.0);
  EXPECT_NEAR(m.ece, 0.4, 1e-12);
  EXPECT_NEAR(m.nll, -(std::log(0.7) + std::log(0.3) + std::log(0.6)) / 3.0, 1e-12);
  EXPECT_NEAR(m.brier, 1.16 / 3.0, 1e-12);
  EXPECT_EQ(m.bins[10].count, 1u);
  EXPECT_EQ(m.bins[7].count, 1u);
  EXPECT_EQ(m.bins[8].count, 1u);
  EXPECT_DOUBLE_EQ(m.bins[7].accuracy, 0.0);
  EXPECT_DOUBLE_EQ(m.bins[7].mean_confidence, 0.5);
  EXPECT_DOUBLE_EQ(m.bins[10].lower, 10.0 / 15.0);
  EXPECT_DOUBLE_EQ(m.bins[10].upper, 11.0 / 15.0);
}

// Two examples in one bin: the bin's gap is |mean accuracy − mean confidence|, not the mean of
// per-example gaps. {0.55, 0.45} y 0 and {0.6, 0.4} y 1 both land in bin 8 ((8/15, 9/15]):
// accuracy 0.5, confidence 0.575, ECE 0.075 (per-example gaps would give 0.5).
TEST(ClassificationMetrics, BinAveragesBeforeTheGap) {
  const Probabilities p = {{0.55, 0.45}, {0.6, 0.4}};
  const std::vector<int> y = {0, 1};
  const ClassificationMetrics m = classification_metrics(p, y);
  EXPECT_EQ(m.bins[8].count, 2u);
  EXPECT_NEAR(m.ece, 0.075, 1e-12);
}

TEST(ClassificationMetrics, TiesPredictTheFirstClass) {
  const Probabilities p = {{0.5, 0.5}};
  EXPECT_DOUBLE_EQ(classification_metrics(p, std::vector<int>{0}).accuracy, 1.0);
  EXPECT_DOUBLE_EQ(classification_metrics(p, std::vector<int>{1}).accuracy, 0.0);
}

TEST(ClassificationMetrics, RejectsBadInput) {
  const Probabilities p = {{0.5, 0.5}};
  EXPECT_THROW(classification_metrics(p, std::vector<int>{}), Error);
  EXPECT_THROW(classification_metrics(Probabilities{}, std::vector<int>{}), Error);
  EXPECT_THROW(classification_metrics(p, std::vector<int>{2}), Error);
  EXPECT_THROW(classification_metrics(p, std::vector<int>{-1}), Error);
  EXPECT_THROW(classification_metrics(Probabilities{{}}, std::vector<int>{0}), Error);
  EXPECT_THROW(classification_metrics(Probabilities{{NAN, 1.0}}, std::vector<int>{0}), Error);
}

}  // namespace
}  // namespace vkmoe::eval
