#include "engine/bayes/validation_prior_precision.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {
namespace {

TEST(ValidationPriorPrecision, LogGridIsEvenInLogLambda) {
  const std::vector<double> g = log_grid(1e-4, 1e2, 7);
  ASSERT_EQ(g.size(), 7u);
  EXPECT_EQ(g.front(), 1e-4);
  EXPECT_EQ(g.back(), 1e2);
  for (std::size_t k = 1; k < g.size(); ++k) EXPECT_NEAR(g[k] / g[k - 1], 10.0, 1e-12);
  EXPECT_THROW(log_grid(0, 1, 5), BayesError);
  EXPECT_THROW(log_grid(2, 1, 5), BayesError);
  EXPECT_THROW(log_grid(1, 2, 1), BayesError);
}

TEST(ValidationPriorPrecision, PicksTheSmallestNll) {
  const std::vector<double> g = log_grid(1e-3, 1e3, 13);
  // a bowl in log λ with its bottom at λ = 1
  const ValidationChoice c =
      choose_by_validation(g, [](double l) { return 0.7 + 0.01 * std::log(l) * std::log(l); });
  EXPECT_NEAR(c.prior_precision, 1.0, 1e-12);
  EXPECT_NEAR(c.nll, 0.7, 1e-12);
  EXPECT_EQ(c.nll_per_lambda.size(), 13u);
  // ties go to the larger λ
  const ValidationChoice flat = choose_by_validation(g, [](double) { return 1.0; });
  EXPECT_EQ(flat.prior_precision, 1e3);
  EXPECT_THROW(choose_by_validation(g, [](double) { return NAN; }), BayesError);
  EXPECT_THROW(choose_by_validation({}, [](double) { return 1.0; }), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
