// The JSON spec: a valid file parses; every bad one is rejected with the field named.
#include <gtest/gtest.h>

#include <string>

#include "engine/stats/regression_spec.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {
namespace {

const char* kValid = R"({
  "expert": "tanh", "dimension": 2, "box": [-1, 2], "noise_sigma": 0.25,
  "experts": [
    {"beta1": [1, -1], "beta0": 0.5, "a": [2, 0], "b": -0.5},
    {"beta1": [0, 0], "beta0": 0, "a": [-1, 1], "b": 1}
  ]})";

TEST(RegressionSpec, ParsesAValidSpec) {
  const RegressionSpec spec = parse_regression_spec(kValid, "valid.json");
  EXPECT_EQ(spec.truth.family, ExpertFamily::tanh);
  EXPECT_EQ(spec.truth.dimension, 2u);
  ASSERT_EQ(spec.truth.experts(), 2u);
  EXPECT_DOUBLE_EQ(spec.box_low, -1.0);
  EXPECT_DOUBLE_EQ(spec.box_high, 2.0);
  EXPECT_DOUBLE_EQ(spec.noise_sigma, 0.25);
  EXPECT_DOUBLE_EQ(spec.truth.atoms[0].gate_slope[1], -1.0);
  EXPECT_DOUBLE_EQ(spec.truth.atoms[0].gate_bias, 0.5);
  EXPECT_DOUBLE_EQ(spec.truth.atoms[1].expert_slope[0], -1.0);
  EXPECT_DOUBLE_EQ(spec.truth.atoms[1].expert_bias, 1.0);
}

std::string error_of(const std::string& text) {
  try {
    parse_regression_spec(text, "bad.json");
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(RegressionSpec, ErrorsNameTheField) {
  const std::string valid = kValid;
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"{", "bad.json: not valid JSON"},
      {"[]", "bad.json: (top level): expected an object"},
      {replace(valid, R"("expert": "tanh", )", ""), "bad.json: expert: missing"},
      {replace(valid, R"("tanh")", R"("relu")"), "bad.json: expert: unknown expert family 'relu'"},
      {replace(valid, R"("tanh")", R"("polynomial")"), "bad.json: degree: missing"},
      {replace(valid, R"("tanh",)", R"("tanh", "degree": 2,)"),
       "bad.json: degree: only polynomial experts have a degree"},
      {replace(valid, R"("dimension": 2)", R"("dimension": 9)"),
       "bad.json: dimension: must be in 1..4, got 9"},
      {replace(valid, R"("dimension": 2)", R"("dimension": "2")"),
       "bad.json: dimension: expected an integer, got string \"2\""},
      {replace(valid, "[-1, 2]", "[2, -1]"), "bad.json: box: low must be below high"},
      {replace(valid, "0.25", "-1"), "bad.json: noise_sigma: must not be negative"},
      {replace(valid, R"("beta1": [1, -1])", R"("beta1": [1])"),
       "bad.json: experts[0].beta1: expected 2 numbers (dimension), got 1"},
      {replace(valid, R"("b": 1})", R"("b": "one"})"),
       "bad.json: experts[1].b: expected a number, got string \"one\""},
      {replace(valid, R"("a": [-1, 1])", R"("a": [-1, null])"),
       "bad.json: experts[1].a[1]: expected a number, got null"},
      {replace(valid, R"("beta0": 0.5,)", R"("beta0": 0.5, "gamma": 1,)"),
       "bad.json: experts[0].gamma: unknown field"},
      {replace(valid, R"("beta0": 0,)", ""), "bad.json: experts[1].beta0: missing"},
      {replace(valid, R"("noise_sigma")", R"("sigma")"), "bad.json: sigma: unknown field"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(c.text);
    EXPECT_EQ(message.rfind(c.expected, 0), 0u) << "got: " << message;
  }
}

TEST(RegressionSpec, ReadsPolynomialDegree) {
  const std::string text = R"({"expert": "polynomial", "degree": 3, "dimension": 1,
    "box": [0, 1], "noise_sigma": 0, "experts": [{"beta1": [0], "beta0": 0, "a": [1], "b": 0}]})";
  const RegressionSpec spec = parse_regression_spec(text, "poly.json");
  EXPECT_EQ(spec.truth.family, ExpertFamily::polynomial);
  EXPECT_EQ(spec.truth.degree, 3u);
}

TEST(RegressionSpec, MissingFileIsAnError) {
  EXPECT_THROW(load_regression_spec("/nonexistent/spec.json"), Error);
}

}  // namespace
}  // namespace vkmoe::stats
