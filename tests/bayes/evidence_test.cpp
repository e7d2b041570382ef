#include "engine/bayes/evidence.h"
#include "engine/bayes/evidence_prior_precision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/prior_options.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

struct TinyLayer {
  std::vector<dense::Matrix> g, a;
  std::vector<KronExpertFactors> experts;
};

TinyLayer tiny_layer(std::int64_t count, double tokens, double factor_scale, std::uint64_t seed) {
  TinyLayer layer;
  for (std::int64_t e = 0; e < count; ++e) {
    const std::int64_t h = 3 + e % 2, i = 2 + e % 3, rg = 2, ra = std::min<std::int64_t>(2, i);
    dense::Matrix g = dense::gram(dense::gaussian(h, rg, seed + 10 * e));
    dense::Matrix a = dense::gram(dense::gaussian(i, ra, seed + 10 * e + 1));
    for (double& x : g.data) x *= factor_scale;
    KronExpertFactors f;
    f.g = symmetric_eigen_top(g.data, h, rg);
    f.a = symmetric_eigen_top(a.data, i, ra);
    f.tokens = tokens;
    layer.g.push_back(g);
    layer.a.push_back(a);
    layer.experts.push_back(f);
  }
  return layer;
}

// The same formula with dense log det P from explicit Kronecker products.
double dense_log_evidence(const TinyLayer& layer, double ll, double dist, double lambda, double t) {
  double value = ll - 0.5 * lambda * dist;
  for (std::size_t e = 0; e < layer.experts.size(); ++e) {
    dense::Matrix p = dense::kron(layer.a[e], layer.g[e]);
    for (double& x : p.data) x /= layer.experts[e].tokens * t;
    p = dense::add(p, dense::identity(p.rows), lambda);
    value += 0.5 * static_cast<double>(p.rows) * std::log(lambda) - 0.5 * dense::log_det_spd(p);
  }
  return value;
}

TEST(Evidence, LogEvidenceMatchesDenseKroneckerProducts) {
  const TinyLayer layer = tiny_layer(3, 11, 4.0, 70);
  const EvidenceGroup group{{layer.experts}, -123.5, 8.25};
  for (double lambda : {1e-4, 0.3, 2.0, 5e3}) {
    SCOPED_TRACE(lambda);
    const double reference = dense_log_evidence(layer, -123.5, 8.25, lambda, 0.8);
    EXPECT_NEAR(log_evidence(group, lambda, 0.8), reference, 1e-9 * std::fabs(reference));
  }
}

TEST(Evidence, GoldenSectionFindsTheGridMaximum) {
  const TinyLayer layer = tiny_layer(4, 9, 30.0, 80);
  for (double dist : {0.05, 3.0, 400.0}) {
    SCOPED_TRACE(dist);
    const EvidenceGroup group{{layer.experts}, -50.0, dist};
    const EvidenceMaximum best = maximise_evidence(group, 1.0);
    const double lo = std::log(1e-6), hi = std::log(1e6);
    const int steps = 24000;
    double grid_best = -INFINITY, grid_argmax = 0;
    for (int k = 0; k <= steps; ++k) {
      const double u = lo + (hi - lo) * k / steps;
      const double v = dense_log_evidence(layer, -50.0, dist, std::exp(u), 1.0);
      if (v > grid_best) grid_best = v, grid_argmax = u;
    }
    EXPECT_FALSE(best.at_bracket_edge);
    EXPECT_NEAR(std::log(best.prior_precision), grid_argmax, 2 * (hi - lo) / steps);
    EXPECT_GE(best.log_evidence, grid_best - 1e-9 * std::fabs(grid_best));
  }
}

TEST(Evidence, PerGroupGivesEachLayerItsOwnLambda) {
  const TinyLayer first = tiny_layer(2, 5, 1.0, 1), second = tiny_layer(3, 5, 100.0, 2);
  const EvidenceGroup groups[] = {{{first.experts}, 0.0, 10.0}, {{second.experts}, 0.0, 0.1}};
  const std::vector<EvidenceMaximum> per_layer = maximise_evidence_per_group(groups, 1.0);
  ASSERT_EQ(per_layer.size(), 2u);
  EXPECT_DOUBLE_EQ(per_layer[0].prior_precision, maximise_evidence(groups[0], 1.0).prior_precision);
  EXPECT_DOUBLE_EQ(per_layer[1].prior_precision, maximise_evidence(groups[1], 1.0).prior_precision);
  EXPECT_GT(std::fabs(std::log(per_layer[0].prior_precision / per_layer[1].prior_precision)), 1.0);
}

TEST(Evidence, MaximumBeyondTheBracketIsFlagged) {
  const TinyLayer layer = tiny_layer(2, 1, 1e6, 5);
  const EvidenceMaximum best = maximise_evidence({{layer.experts}, 0.0, 1e-9}, 1.0);
  EXPECT_TRUE(best.at_bracket_edge);
  EXPECT_NEAR(best.prior_precision / 1e6, 1.0, 1e-7);
}

TEST(Evidence, PriorCentredOnTheWeightsHasNoMaximum) {
  const TinyLayer layer = tiny_layer(2, 5, 1.0, 3);
  const EvidenceGroup centred{{layer.experts}, -10.0, 0.0};
  // increasing in λ everywhere
  for (double lambda = 1e-3; lambda < 1e3; lambda *= 10) {
    EXPECT_LT(log_evidence(centred, lambda, 1.0), log_evidence(centred, lambda * 10, 1.0));
  }
  EXPECT_THROW(maximise_evidence(centred, 1.0), BayesError);
  EXPECT_THROW(maximise_evidence({{}, 0.0, 1.0}, 1.0), BayesError);
  EXPECT_THROW(maximise_evidence({{layer.experts}, 0.0, 1.0}, 1.0, {1.0, 0.5, 1e-6}), BayesError);
}

TEST(PriorOptions, ParsesTheCommandLineChoices) {
  EXPECT_EQ(parse_prior_mean("zero"), PriorMean::kZero);
  EXPECT_EQ(parse_prior_mean("map"), PriorMean::kMap);
  EXPECT_EQ(prior_mean_name(PriorMean::kMap), "map");
  EXPECT_EQ(parse_prior_precision("evidence").choice, PrecisionChoice::kEvidence);
  EXPECT_EQ(parse_prior_precision("val").choice, PrecisionChoice::kValidation);
  const PriorPrecisionOption fixed = parse_prior_precision("2.5e-3");
  EXPECT_EQ(fixed.choice, PrecisionChoice::kFixed);
  EXPECT_DOUBLE_EQ(fixed.value, 2.5e-3);
  for (const char* bad : {"", "0", "-1", "inf", "nan", "1x", "Evidence"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_prior_precision(bad), BayesError);
  }
  EXPECT_THROW(parse_prior_mean("mean"), BayesError);
}

TEST(PriorOptions, EvidenceWithMapMeanIsRefusedAndSaysWhy) {
  EXPECT_NO_THROW(check_prior_options(PriorMean::kZero, parse_prior_precision("evidence")));
  EXPECT_NO_THROW(check_prior_options(PriorMean::kMap, parse_prior_precision("val")));
  EXPECT_NO_THROW(check_prior_options(PriorMean::kMap, parse_prior_precision("0.1")));
  try {
    check_prior_options(PriorMean::kMap, parse_prior_precision("evidence"));
    FAIL() << "evidence with a MAP-centred prior was accepted";
  } catch (const BayesError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--prior-mean map"), std::string::npos) << message;
    EXPECT_NE(message.find("no maximum"), std::string::npos) << message;
    EXPECT_NE(message.find("λ → ∞"), std::string::npos) << message;
    EXPECT_NE(message.find("val or a number"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace vkmoe::bayes

namespace vkmoe::bayes {
namespace {

TEST(Evidence, AGroupMayBeSplitIntoParts) {
  const TinyLayer a = tiny_layer(2, 5, 3.0, 40), b = tiny_layer(3, 5, 3.0, 50);
  TinyLayer both = a;
  both.experts.insert(both.experts.end(), b.experts.begin(), b.experts.end());
  const EvidenceGroup split{{a.experts, b.experts}, -1.0, 2.0};
  const EvidenceGroup whole{{both.experts}, -1.0, 2.0};
  EXPECT_DOUBLE_EQ(log_evidence(split, 0.4, 1.0), log_evidence(whole, 0.4, 1.0));
}

TEST(EvidencePriorPrecision, PerModelAndPerLayer) {
  Posterior p;
  p.temperature = 1.0;
  p.layers = {{2, tiny_layer(2, 5, 1.0, 60).experts}, {5, tiny_layer(3, 5, 50.0, 61).experts}};
  const EvidenceData data{-20.0, {4.0, 0.2}};

  const std::vector<EvidenceMaximum> model = set_prior_precision_by_evidence(p, data, false);
  ASSERT_EQ(p.prior_precision.size(), 1u);
  const EvidenceGroup all{{p.layers[0].experts, p.layers[1].experts}, -20.0, 4.2};
  EXPECT_DOUBLE_EQ(p.prior_precision[0], maximise_evidence(all, 1.0).prior_precision);
  EXPECT_EQ(model[0].prior_precision, p.prior_precision[0]);

  set_prior_precision_by_evidence(p, data, true);
  ASSERT_EQ(p.prior_precision.size(), 2u);
  EXPECT_DOUBLE_EQ(p.prior_precision[1],
                   maximise_evidence({{p.layers[1].experts}, 0.0, 0.2}, 1.0).prior_precision);
  EXPECT_NE(p.prior_precision[0], p.prior_precision[1]);

  EXPECT_THROW(set_prior_precision_by_evidence(p, {0.0, {1.0}}, true), BayesError);
  p.prior_mean = PriorMean::kMap;
  EXPECT_THROW(set_prior_precision_by_evidence(p, data, false), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
