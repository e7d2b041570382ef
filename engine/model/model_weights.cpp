#include "engine/model/model_weights.h"

#include <algorithm>
#include <string>

#include "engine/model/device_memory.h"
#include "engine/model/host_tensor.h"
#include "engine/ops/rope.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"

namespace vkmoe::model {

namespace {

// A run of a checkpoint tensor's elements, copied to element `at` of the destination buffer.
struct Piece {
  const ResolvedTensor* tensor = nullptr;
  std::int64_t first = 0, count = 0;
  std::uint64_t at = 0;
};

// What a buffer may hold: always f32 (norms, biases); the pieces' stored type, f32 if they are
// of mixed types or of one the kernels do not read (GEMM weights); the stored type unless it
// is a quant (the embedding table, which the embedding kernel reads).
enum class Keep { f32, stored, plain };

// One device buffer to fill: a norm, a matrix, or a stack of experts gathered from pieces.
struct Job {
  std::string name;
  vk::Buffer* buffer = nullptr;
  Keep keep = Keep::stored;
  ops::DType type = ops::DType::f32;
  std::uint64_t elements = 0;
  std::vector<Piece> pieces;
  DeviceMatrix* stack = nullptr;  // routed experts: split into parts past one allocation
};

uint32_t dim(std::int64_t v) {
  return static_cast<uint32_t>(v);
}  // limits: model_config.h

class Planner {
 public:
  explicit Planner(const ResolvedModel& m) : m_(m) {}

  // An f32 vector (norm weight, bias).
  void vector(vk::Buffer& b, TensorRole role, std::int32_t layer) {
    const ResolvedTensor& t = need(role, layer);
    add(t.spec.name, b, {{&t, 0, t.view->numel(), 0}}, Keep::f32);
  }

  // A GEMM weight keeps its stored type; the embedding table (`quants_ok` false: the embedding
  // kernel reads no quants) keeps it unless quantised.
  void matrix(DeviceMatrix& d, TensorRole role, std::int32_t layer, bool quants_ok = true) {
    const ResolvedTensor& t = need(role, layer);
    d.rows = dim(t.spec.shape.front());
    d.cols = dim(t.view->numel() / t.spec.shape.front());
    d.type = add(t.spec.name, d.buffer, {{&t, 0, t.view->numel(), 0}},
                 quants_ok ? Keep::stored : Keep::plain);
  }

  // The routed experts of layer `l` as three stacks, whatever the file's layout.
  void experts(LayerWeights& w, std::int32_t l) {
    const ModelConfig& c = m_.config;
    const std::int64_t e_count = c.num_experts, inner = c.moe_intermediate_size;
    const std::int64_t h = c.hidden_size, block = inner * h;
    for (DeviceMatrix* d : {&w.experts_gate, &w.experts_up, &w.experts_down}) {
      d->experts = dim(e_count);
      d->rows = dim(d == &w.experts_down ? h : inner);
      d->cols = dim(d == &w.experts_down ? inner : h);
    }
    const std::string p = "model.layers." + std::to_string(l) + ".mlp.experts.";
    std::vector<Piece> gate, up, down;
    switch (m_.layout.at(static_cast<std::size_t>(l))) {
      case ExpertLayout::kPerExpert:
        for (std::int32_t e = 0; e < e_count; ++e) {
          const auto at = static_cast<std::uint64_t>(e * block);
          gate.push_back({&need(TensorRole::kExpertGate, l, e), 0, block, at});
          up.push_back({&need(TensorRole::kExpertUp, l, e), 0, block, at});
          down.push_back({&need(TensorRole::kExpertDown, l, e), 0, block, at});
        }
        break;
      case ExpertLayout::kFused: {
        // gate_up_proj [E, 2I, H]: each expert's gate rows, then its up rows.
        const ResolvedTensor& gu = need(TensorRole::kExpertsGateUp, l);
        for (std::int64_t e = 0; e < e_count; ++e) {
          const auto at = static_cast<std::uint64_t>(e * block);
          gate.push_back({&gu, 2 * e * block, block, at});
          up.push_back({&gu, 2 * e * block + block, block, at});
        }
        const ResolvedTensor& d = need(TensorRole::kExpertsDown, l);
        down.push_back({&d, 0, d.view->numel(), 0});
        break;
      }
      case ExpertLayout::kStacked:
        for (auto [role, list] :
             {std::pair{TensorRole::kExpertsGate, &gate}, std::pair{TensorRole::kExpertsUp, &up},
              std::pair{TensorRole::kExpertsDown, &down}}) {
          const ResolvedTensor& t = need(role, l);
          list->push_back({&t, 0, t.view->numel(), 0});
        }
        break;
    }
    w.experts_gate.type = add(p + "gate", w.experts_gate.buffer, std::move(gate), Keep::stored);
    jobs_.back().stack = &w.experts_gate;
    w.experts_up.type = add(p + "up", w.experts_up.buffer, std::move(up), Keep::stored);
    jobs_.back().stack = &w.experts_up;
    w.experts_down.type = add(p + "down", w.experts_down.buffer, std::move(down), Keep::stored);
    jobs_.back().stack = &w.experts_down;
  }

  std::vector<Job>& jobs() { return jobs_; }

 private:
  const ResolvedTensor& need(TensorRole role, std::int32_t layer, std::int32_t expert = -1) {
    const ResolvedTensor* t = m_.find(role, layer, expert);
    if (t == nullptr) {
      throw Error("model weights: no " + std::string(role_name(role)) + " for layer " +
                  std::to_string(layer));
    }
    return *t;
  }

  ops::DType add(std::string name, vk::Buffer& b, std::vector<Piece> pieces, Keep keep) {
    const DType first = pieces.front().tensor->view->dtype;
    bool same = !decoded_on_host(first);
    std::uint64_t elements = 0;
    for (const Piece& p : pieces) {
      same = same && p.tensor->view->dtype == first;
      elements += static_cast<std::uint64_t>(p.count);
    }
    ops::DType type = keep == Keep::f32 || !same ? ops::DType::f32 : device_type(first);
    if (keep == Keep::plain && ops::dtype_is_quantized(type)) type = ops::DType::f32;
    jobs_.push_back({std::move(name), &b, keep, type, elements, std::move(pieces)});
    return type;
  }

  const ResolvedModel& m_;
  std::vector<Job> jobs_;
};

void check_supported(const ModelConfig& c) {
  if (c.rope_scaling != RopeScaling::kNone && c.rope_scaling != RopeScaling::kLinear) {
    throw Error("model: rope_scaling other than linear is not implemented yet");
  }
  if (c.routed_scaling_factor != 1.0) {
    throw Error("model: routed_scaling_factor " + std::to_string(c.routed_scaling_factor) +
                " is not implemented (DeepSeek-MoE and Qwen2-MoE use 1)");
  }
  for (AttentionKind k : c.attention) {
    if (k == AttentionKind::kSliding) {
      throw Error("model: sliding-window attention layers are not implemented yet");
    }
  }
}

// The experts of one part: as many whole experts as one allocation holds.
uint32_t experts_per_part(const Job& j, uint64_t max_allocation) {
  const DeviceMatrix& d = *j.stack;
  const uint64_t expert_bytes = ops::dtype_row_bytes(j.type, uint64_t{d.rows} * d.cols);
  if (max_allocation == 0 || expert_bytes * d.experts <= max_allocation) return d.experts;
  if (expert_bytes > max_allocation) {
    throw OutOfDeviceMemory("'" + j.name + "': one expert's matrix takes " +
                            std::to_string(expert_bytes) +
                            " bytes, more than one allocation may (maxMemoryAllocationSize " +
                            std::to_string(max_allocation) + ")");
  }
  return static_cast<uint32_t>(max_allocation / expert_bytes);
}

// Creates the job's buffers (one, or the parts of an expert stack) and uploads its pieces,
// cutting a piece where it crosses from one part into the next.
void upload_job(vk::Context& context, vk::Stream& stream, const Job& j, bool& any_decoded_on_host) {
  std::vector<vk::Buffer*> parts{j.buffer};
  uint64_t part_elements = j.elements;
  if (j.stack != nullptr) {
    DeviceMatrix& d = *j.stack;
    d.experts_per_part = experts_per_part(j, context.allocator().max_allocation_size());
    const uint32_t count = (d.experts + d.experts_per_part - 1) / d.experts_per_part;
    d.more_parts.resize(count - 1);
    for (vk::Buffer& b : d.more_parts) parts.push_back(&b);
    part_elements = uint64_t{d.experts_per_part} * d.rows * d.cols;
  }
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const uint64_t elements = std::min(part_elements, j.elements - p * part_elements);
    const std::string name = parts.size() == 1 ? j.name : j.name + " part " + std::to_string(p);
    *parts[p] = context.create_buffer(ops::dtype_row_bytes(j.type, elements), name);
  }
  for (const Piece& piece : j.pieces) {
    const HostTensor host(*piece.tensor, j.type);
    // A quantised GEMM weight the kernels could not read as stored (in a mixed group, or a
    // quant they do not know); the embedding table is decoded by design.
    const DType stored = piece.tensor->view->dtype;
    const bool widened_quant =
        ops::dtype_is_quantized(device_type(stored)) && j.type != device_type(stored);
    if (j.keep == Keep::stored && (widened_quant || decoded_on_host(stored))) {
      any_decoded_on_host = true;
    }
    // Parts end on expert boundaries, so every cut lies on whole quant blocks.
    for (std::uint64_t done = 0; done < static_cast<std::uint64_t>(piece.count);) {
      const std::uint64_t at = piece.at + done;
      const std::uint64_t part = at / part_elements, offset = at % part_elements;
      const std::uint64_t n = std::min<std::uint64_t>(
          static_cast<std::uint64_t>(piece.count) - done, part_elements - offset);
      const std::span<const std::byte> bytes =
          host.range(piece.first + static_cast<std::int64_t>(done), static_cast<std::int64_t>(n));
      stream.upload(parts[part]->span(ops::dtype_row_bytes(j.type, offset), bytes.size()),
                    bytes.data(), bytes.size());
      done += n;
    }
  }
}

}  // namespace

ops::ExpertWeights DeviceMatrix::expert_weights() const {
  std::vector<vk::BufferSpan> parts{buffer.span()};
  for (const vk::Buffer& b : more_parts) parts.push_back(b.span());
  return {std::move(parts), more_parts.empty() ? UINT32_MAX : experts_per_part};
}

ModelWeights load_model_weights(vk::Context& context, const ResolvedModel& model) {
  const ModelConfig& c = model.config;
  check_supported(c);
  ModelWeights w;
  w.config = c;
  w.layers.resize(static_cast<std::size_t>(c.num_layers));

  Planner plan(model);
  plan.matrix(w.embedding, TensorRole::kTokenEmbedding, -1, false);
  for (std::int32_t l = 0; l < c.num_layers; ++l) {
    LayerWeights& L = w.layers[static_cast<std::size_t>(l)];
    plan.vector(L.attn_norm, TensorRole::kAttnNorm, l);
    plan.matrix(L.q, TensorRole::kQ, l);
    plan.matrix(L.k, TensorRole::kK, l);
    plan.matrix(L.v, TensorRole::kV, l);
    if (c.attention_bias) {
      plan.vector(L.q_bias, TensorRole::kQBias, l);
      plan.vector(L.k_bias, TensorRole::kKBias, l);
      plan.vector(L.v_bias, TensorRole::kVBias, l);
    }
    plan.matrix(L.o, TensorRole::kO, l);
    if (c.attention_bias && c.arch == Arch::kDeepseek) plan.vector(L.o_bias, TensorRole::kOBias, l);
    plan.vector(L.ffn_norm, TensorRole::kFfnNorm, l);
    L.moe = c.is_moe(l);
    if (!L.moe) {
      plan.matrix(L.gate, TensorRole::kDenseGate, l);
      plan.matrix(L.up, TensorRole::kDenseUp, l);
      plan.matrix(L.down, TensorRole::kDenseDown, l);
      continue;
    }
    plan.matrix(L.router, TensorRole::kRouter, l);
    plan.experts(L, l);
    if (c.shared_intermediate_size > 0) {
      plan.matrix(L.shared_gate, TensorRole::kSharedGate, l);
      plan.matrix(L.shared_up, TensorRole::kSharedUp, l);
      plan.matrix(L.shared_down, TensorRole::kSharedDown, l);
      if (c.shared_expert_gated)
        plan.matrix(L.shared_expert_gate, TensorRole::kSharedExpertGate, l);
    }
  }
  plan.vector(w.output_norm, TensorRole::kOutputNorm, -1);
  if (!c.tie_word_embeddings) plan.matrix(w.lm_head, TensorRole::kLmHead, -1);

  std::vector<float> inv_freq =
      ops::rope_inv_freq(static_cast<float>(c.rope_theta), dim(c.head_dim));
  if (c.rope_scaling == RopeScaling::kLinear) {
    for (float& f : inv_freq) f /= static_cast<float>(c.rope_scaling_factor);
  }

  const std::uint64_t align = context.allocator().alignment();
  std::uint64_t total = (inv_freq.size() * sizeof(float) + align - 1) / align * align;
  for (const Job& j : plan.jobs()) {
    total += (ops::dtype_row_bytes(j.type, j.elements) + align - 1) / align * align;
  }
  require_device_memory(context, total, "loading the model");

  vk::Stream stream(context);
  for (const Job& j : plan.jobs()) upload_job(context, stream, j, w.decoded_on_host);
  w.rope_inv_freq = context.create_buffer(inv_freq.size() * sizeof(float), "rope inv_freq");
  stream.upload(w.rope_inv_freq.span(), inv_freq.data(), inv_freq.size() * sizeof(float));
  stream.finish();
  w.device_bytes = total;
  return w;
}

}  // namespace vkmoe::model
