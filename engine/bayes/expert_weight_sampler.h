// The weights of the sampled (`mc`) Bayesian-MoE predictive (DESIGN.md "Bayesian-MoE",
// sampling): draws W_MAP + ΔW for every treated layer's routed experts' down_proj on the GPU
// (ops/posterior_sample.h) and writes them in place into the model's weights, so the ordinary
// forward (and any scorer built on it) runs the sampled model. W_MAP is kept in a device copy;
// restore() puts it back, and the destructor does so too.
//
// A quantised (GGUF) down_proj stack cannot be written element by element: the draws go to an
// f16 stack of the same shape, which the layer's down_proj points at (type f16) from the first
// draw until restore(), while the quantised stack itself stays untouched and is W_MAP. The cost
// is E·H·I·2 bytes per treated layer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/bayes/posterior_file.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"

namespace vkmoe::bayes {

class ExpertWeightSampler {
 public:
  // `prior_precision` replaces the posterior's λ when set. Throws BayesError when the posterior
  // names a layer the model lacks or of another shape, or a layer's experts are split across
  // allocations.
  ExpertWeightSampler(vk::Context& context, model::ModelWeights& weights,
                      const Posterior& posterior, std::optional<double> prior_precision,
                      std::uint64_t seed);
  ~ExpertWeightSampler();
  ExpertWeightSampler(const ExpertWeightSampler&) = delete;
  ExpertWeightSampler& operator=(const ExpertWeightSampler&) = delete;

  // Writes sample `draw` (reproducible for the seed) into the weights; waits for the device.
  void draw(std::uint32_t draw);
  // Writes W_MAP back; waits for the device.
  void restore();

 private:
  struct Layer {
    model::DeviceMatrix* down = nullptr;
    vk::Buffer q_g, q_a, spectra, work, core;
    // Plain types: a copy of W_MAP. Quants: the stack that down_proj does not point at now
    // (the f16 sample stack before a draw and after restore(), the quantised W_MAP between).
    vk::Buffer w_map;
    ops::DType map_type = ops::DType::f32;
    std::uint32_t rank = 0, stream_id = 0;
    float lambda = 1.0f;
  };
  vk::Context& context_;
  std::vector<Layer> layers_;
  std::uint64_t seed_ = 0;
  float temperature_ = 1.0f;
  bool sampled_ = false;
};

}  // namespace vkmoe::bayes
