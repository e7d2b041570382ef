// The per-example GLM predictive of a posterior (engine/bayes/predictive.h) on a hand-made
// posterior with no eigenpairs, where P = λI and Σ_cc' = Σ_e ⟨J_c, J_c'⟩/λ_layer(e) by hand:
// per-layer λ, an override, seeds per example, the layer ablation, and Jacobians for an expert
// the posterior lacks.
#include "engine/bayes/predictive.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/layer_ablation.h"

namespace vkmoe::bayes {
namespace {

Posterior two_layer_posterior() {
  Posterior p;
  p.prior_precision = {1.0, 4.0};
  for (std::int64_t l : {1, 3}) {
    KronExpertFactors f;
    f.g.n = 2;
    f.a.n = 2;
    p.layers.push_back({l, {f}});
  }
  return p;
}

// Two classes; in each layer expert 0 sees one token a = (1, 1), with g^{(0)} = (1, 0) and
// g^{(1)} = (0, 1): ⟨J_0, J_0⟩ = ⟨J_1, J_1⟩ = 2, ⟨J_0, J_1⟩ = 0.
ValidationJacobians example() {
  ValidationJacobians v;
  v.mean = {-0.2, -1.7};
  for (std::size_t layer : {0u, 1u}) {
    ExpertRows e;
    e.layer = layer;
    e.terms = 1;
    e.a = {1.0, 1.0};
    e.g = {{1.0, 0.0}, {0.0, 1.0}};
    v.experts.push_back(e);
  }
  return v;
}

TEST(GlmPredictive, PerLayerLambdaAndOverride) {
  const Posterior p = two_layer_posterior();
  EXPECT_EQ(posterior_layer_indices(p), (std::vector<std::int64_t>{1, 3}));
  GlmPredictiveOptions o;
  o.integration.method = LogitIntegration::kProbit;
  const double s = 2.0 / 1.0 + 2.0 / 4.0;
  EXPECT_EQ(
      glm_predictive(p, example(), o),
      predictive_probabilities(example().mean, std::vector<double>{s, 0, 0, s}, o.integration));
  o.prior_precision = 2.0;
  EXPECT_EQ(
      glm_predictive(p, example(), o),
      predictive_probabilities(example().mean, std::vector<double>{2, 0, 0, 2}, o.integration));
}

TEST(GlmPredictive, SeedsDifferPerExampleAndRepeat) {
  const Posterior p = two_layer_posterior();
  GlmPredictiveOptions o;
  o.integration.samples = 64;
  o.integration.seed = 9;
  EXPECT_EQ(glm_predictive(p, example(), o, 5), glm_predictive(p, example(), o, 5));
  EXPECT_NE(glm_predictive(p, example(), o, 5), glm_predictive(p, example(), o, 6));
}

// Leaving layer 3 (position 1, λ = 4) out leaves Σ = ⟨J, J⟩/λ_layer1 = 2/1 on the diagonal.
TEST(GlmPredictive, LayerAblationDropsTheLeftOutLayersBlocks) {
  const Posterior p = two_layer_posterior();
  const std::vector<std::int64_t> decoder{3, 7};  // 7: a layer the posterior does not treat
  const std::vector<std::size_t> left_out = posterior_positions(p, decoder);
  EXPECT_EQ(left_out, (std::vector<std::size_t>{1}));
  const ValidationJacobians kept = without_layers(example(), left_out);
  ASSERT_EQ(kept.experts.size(), 1u);
  EXPECT_EQ(kept.experts[0].layer, 0u);
  EXPECT_EQ(kept.mean, example().mean);
  GlmPredictiveOptions o;
  o.integration.method = LogitIntegration::kProbit;
  EXPECT_EQ(
      glm_predictive(p, kept, o),
      predictive_probabilities(example().mean, std::vector<double>{2, 0, 0, 2}, o.integration));
  EXPECT_EQ(without_layers(example(), {}).experts.size(), 2u);
}

TEST(GlmPredictive, RefusesWhatThePosteriorLacks) {
  Posterior p = two_layer_posterior();
  ValidationJacobians v = example();
  v.experts[1].expert = 3;
  EXPECT_THROW(glm_predictive(p, v, {}), BayesError);
  p = two_layer_posterior();
  p.prior_precision = {1.0, 2.0, 3.0};
  EXPECT_THROW(glm_predictive(p, example(), {}), BayesError);
  GlmPredictiveOptions o;
  o.prior_precision = -1.0;
  EXPECT_THROW(glm_predictive(two_layer_posterior(), example(), o), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
