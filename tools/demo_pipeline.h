// The device work of `vkmoe demo` (issue 7): fit the Bayesian-MoE posterior of seed0 on the
// train split, then score every evaluation split with the MAP model and five ways to calibrate
// it, plus the layer-wise ablation of Bayesian-MoE. Work is shared where it can be:
//   * one MAP forward per item (answer_features) gives MAP, temperature scaling and last-layer
//     Laplace their logits and lm_head inputs;
//   * one gather of per-expert Jacobians per item gives the Bayesian-MoE (glm) row and every
//     ablation row (layer_ablation.h: the same posterior restricted, no refit);
//   * each weight sample of Bayesian-MoE (mc) scores the items of all splits.
// With λ from validation, Bayesian-MoE (mc) chooses its own λ there too (demo_pipeline.cpp says
// why): `vkmoe eval --predictive mc --prior-precision <mc_lambda>` gives its numbers.
// Every number is the one `vkmoe eval` gives for the same model, split, limit, posterior file and
// seed: the posterior is read back from the file the fit wrote, as eval reads it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/eval/metrics.h"
#include "tools/demo_inputs.h"

namespace vkmoe::cli {

struct DemoOptions {
  std::filesystem::path out;    // the folder of posterior.safetensors (and the report)
  std::int64_t mc_samples = 8;  // weight samples of Bayesian-MoE (mc)
  // Weight samples per candidate λ when Bayesian-MoE (mc) chooses its own λ on validation.
  std::int64_t mc_selection_samples = 2;
  std::int64_t glm_samples = 1000;  // logit draws of the glm and last-layer predictives
  std::uint64_t seed = 0;
  std::int64_t rank = 32;  // of the KFAC factors (laplace fit's default)
  // How both Laplace rows choose λ: by the NLL of their predictive on the validation items
  // (default), or by the evidence on the train items. The demo models fit their train split
  // almost exactly (train NLL ~0.001), so the train Fisher is nearly zero and the evidence picks
  // a λ so small that the posterior is mostly prior: accuracy falls (README, demo section).
  bool lambda_by_evidence = false;
};

struct MethodMetrics {
  std::string key;   // "map", "temperature", ... (JSON)
  std::string name;  // "MAP", "Temperature scaling", ... (tables)
  eval::ClassificationMetrics metrics;
};

struct SplitMetrics {
  const DemoSplit* split = nullptr;
  std::vector<MethodMetrics> methods;   // MAP, temperature, last-layer Laplace, ensemble, glm, mc
  std::vector<MethodMetrics> ablation;  // glm with all layers, then without each quarter
};

struct StageTime {
  std::string stage;
  std::size_t items = 0;
  double seconds = 0;
};

struct DemoOutcome {
  std::filesystem::path posterior_file;
  std::vector<std::int64_t> layers;  // the treated MoE layers
  std::string fisher;                // the posterior's Fisher type ("exact")
  std::vector<double> lambda;        // Bayesian-MoE's λ
  double last_layer_lambda = 0;      // last-layer Laplace's λ
  double mc_lambda = 0;              // Bayesian-MoE (mc)'s λ: its own validation choice
  double temperature = 1;            // fitted on the validation split
  std::vector<SplitMetrics> splits;  // in DemoData::evaluation order
  std::vector<StageTime> stages;
  std::size_t validation_messages = 0;  // Khronos validation layer messages (must be 0)
};

// Throws what the stages throw (model loading, the fit, a posterior that does not read back).
DemoOutcome run_demo_pipeline(const DemoData& data, const DemoOptions& options);

}  // namespace vkmoe::cli
