// A forward of one prompt that keeps, per layer, every activation the backward for activations
// (engine/model/backward.h) reads: the inputs of both RMSNorms, q and k after RoPE and v (the
// KV cache), the attention output, the router logits, routing weights, choices and lists, the
// routed experts' gate/up/SwiGLU/down_proj outputs and the shared expert's or dense MLP's
// intermediates. Bayesian-MoE runs one backward per answer label over one such forward.
//
// Memory is about one ForwardScratch per layer: fine for the prompts of multiple-choice items,
// fed one example at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/decoder_layer.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"

namespace vkmoe::model {

class SavedForward {
 public:
  // Runs the whole prompt from position 0 and waits for it. Throws Error for an empty prompt
  // or a token outside the vocabulary.
  SavedForward(vk::Context& context, const ModelWeights& weights, std::span<const uint32_t> tokens);

  uint32_t tokens() const { return tokens_; }
  // f32 [vocab]: the logits at the scoring position (the last prompt token), on the host.
  const std::vector<float>& last_logits() const { return last_logits_; }
  vk::BufferSpan last_logits_on_device() const { return logits_.span(); }

  // The residual stream entering layer `l`'s attention block and its MLP/MoE block, and the
  // one entering the final norm; f32 [T, H].
  vk::BufferSpan attention_input(uint32_t l) const;
  vk::BufferSpan mlp_input(uint32_t l) const { return mlp_inputs_.at(l).span(); }
  vk::BufferSpan final_input() const { return layers_.back().x.span(); }
  // Layer `l`'s activations (its attention and MLP blocks ran on this scratch).
  const ForwardScratch& layer(uint32_t l) const { return layers_.at(l); }
  const KvCache& cache() const { return cache_; }

 private:
  uint32_t tokens_ = 0;
  KvCache cache_;
  vk::Buffer embedded_;  // f32 [T, H]: the input of layer 0
  vk::Buffer logits_;    // f32 [vocab]
  std::vector<ForwardScratch> layers_;
  std::vector<vk::Buffer> mlp_inputs_;
  std::vector<float> last_logits_;
};

}  // namespace vkmoe::model
