// The JSON description of a simulated softmax-gated MoE regression:
//   {
//     "expert": "sigmoid",            // "linear" | "polynomial" | "sigmoid" | "tanh"
//     "degree": 2,                    // polynomial experts only: h = (a . x + b)^degree
//     "dimension": 1,                 // d, 1..4
//     "box": [-1, 1],                 // X uniform on [low, high]^d
//     "noise_sigma": 0.1,             // Y = f_G*(X) + N(0, sigma^2)
//     "experts": [                    // the true atoms, 1..8 of them
//       {"beta1": [1.0], "beta0": 0.0, "a": [2.0], "b": 0.5}, ...
//     ]
//   }
// Every error names the file and the field ("spec.json: experts[1].beta1: expected 1 number
// (dimension), got 2").
#pragma once

#include <filesystem>
#include <string_view>

#include "engine/stats/moe_model.h"

namespace vkmoe::stats {

struct RegressionSpec {
  MoeModel truth;
  double box_low = -1.0;
  double box_high = 1.0;
  double noise_sigma = 0.0;
};

RegressionSpec parse_regression_spec(std::string_view json_text, std::string_view source);
RegressionSpec load_regression_spec(const std::filesystem::path& path);

ExpertFamily parse_expert_family(std::string_view name);  // throws on an unknown name

}  // namespace vkmoe::stats
