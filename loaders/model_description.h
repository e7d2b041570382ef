// The tensors a model needs, layer by layer, with their expected shapes (PyTorch order), named
// as in Hugging Face checkpoints; and the check of a checkpoint against that list.
//
// Routed experts come in three layouts:
//   per-expert  model.layers.{l}.mlp.experts.{e}.{gate,up,down}_proj.weight  [I,H] [I,H] [H,I]
//   fused       model.layers.{l}.mlp.experts.gate_up_proj [E,2I,H], .down_proj [E,H,I]
//               (transformers ≥ 5; gate rows first, then up rows)
//   stacked     model.layers.{l}.mlp.experts.{gate,up,down}_proj.weight [E,I,H] [E,I,H] [E,H,I]
//               (what GGUF files hold: ffn_{gate,up,down}_exps)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "loaders/model_config.h"
#include "loaders/tensor_view.h"

namespace vkmoe {

enum class TensorRole : std::uint8_t {
  kTokenEmbedding,
  kOutputNorm,
  kLmHead,
  kAttnNorm,
  kQ,
  kK,
  kV,
  kQBias,
  kKBias,
  kVBias,
  kO,
  kOBias,  // DeepSeek with attention_bias (Qwen2-MoE's o_proj has none)
  kFfnNorm,
  kDenseGate,
  kDenseUp,
  kDenseDown,
  kRouter,      // mlp.gate [E, H]
  kExpertGate,  // per-expert layout
  kExpertUp,
  kExpertDown,
  kExpertsGateUp,  // fused layout
  kExpertsGate,    // stacked layout
  kExpertsUp,
  kExpertsDown,  // fused and stacked layouts
  kSharedGate,
  kSharedUp,
  kSharedDown,
  kSharedExpertGate,  // Qwen: [1, H]
};
std::string_view role_name(TensorRole r);  // "attention q projection", ...

enum class ExpertLayout : std::uint8_t { kPerExpert, kFused, kStacked };
std::string_view layout_name(ExpertLayout l);

struct TensorSpec {
  std::string name;  // Hugging Face name
  TensorRole role = TensorRole::kTokenEmbedding;
  std::int32_t layer = -1;   // -1: not in a layer
  std::int32_t expert = -1;  // per-expert layout: the routed expert
  std::vector<std::int64_t> shape;
};

// Every tensor `c` needs, routed experts in `layout` (MoE layers), in a stable order: embedding,
// then each layer, then the final norm and lm_head (absent when the embeddings are tied).
std::vector<TensorSpec> describe_tensors(const ModelConfig& c, ExpertLayout layout);

// How a tensor's rows are ordered in the file. GGUF "deepseek" files (like llama) store the q
// and k projections with the two halves of each head's rotary dimensions interleaved; the
// engine's RoPE is the HF rotate_half layout, so those rows must be put back (see hf_row()).
enum class RowOrder : std::uint8_t { kAsIs, kRopeInterleaved };

struct ResolvedTensor {
  TensorSpec spec;
  const TensorView* view = nullptr;
  RowOrder rows = RowOrder::kAsIs;
  std::int64_t rope_head_dim = 0;  // for kRopeInterleaved
};

// File row → HF row for RowOrder::kRopeInterleaved: within each head of `head_dim` rows, file row
// 2i + j holds HF row j·head_dim/2 + i (i < head_dim/2, j ∈ {0, 1}).
std::int64_t hf_row(std::int64_t file_row, std::int64_t head_dim);

struct ResolvedModel {
  ModelConfig config;
  std::vector<ExpertLayout> layout;  // per layer (meaningful for MoE layers)
  std::vector<ResolvedTensor> tensors;

  const ResolvedTensor* find(TensorRole role, std::int32_t layer = -1,
                             std::int32_t expert = -1) const;
  std::uint64_t weight_bytes() const;
};

// Looks a tensor up by its Hugging Face name; nullptr when absent.
using TensorLookup = std::function<const TensorView*(std::string_view name)>;

// Resolves every tensor of `c` (detecting the expert layout of each MoE layer) and checks shapes
// and dtypes. Throws LoadError "<source>: missing tensor 'x' (...)" naming what was looked for
// and the layouts that are supported, or a shape/dtype mismatch naming both.
ResolvedModel resolve_tensors(const ModelConfig& c, const TensorLookup& lookup,
                              std::string_view source);

}  // namespace vkmoe
