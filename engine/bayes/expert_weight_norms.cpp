#include "engine/bayes/expert_weight_norms.h"

#include <algorithm>
#include <string>

#include "engine/model/host_tensor.h"
#include "engine/vk/stream.h"
#include "loaders/quant_blocks.h"

namespace vkmoe::bayes {

namespace {

// Σ x² over the weights `bytes` hold (any device type, quants decoded block by block as the
// kernels read them).
double squared_sum(const std::vector<std::byte>& bytes, ops::DType type, std::size_t elements) {
  std::vector<float> values(elements);
  decode_to_f32(model::stored_type(type), bytes, values);
  double sum = 0;
  for (float x : values) sum += static_cast<double>(x) * x;
  return sum;
}

}  // namespace

std::vector<double> down_proj_squared_distances(vk::Context& context,
                                                const model::ModelWeights& weights,
                                                const std::vector<std::int64_t>& layers,
                                                PriorMean mean) {
  std::vector<double> out;
  vk::Stream stream(context);
  for (std::int64_t l : layers) {
    if (mean == PriorMean::kMap) {
      out.push_back(0.0);
      continue;
    }
    const model::DeviceMatrix& down = weights.layers.at(static_cast<std::size_t>(l)).experts_down;
    const std::size_t per_expert_elements = std::size_t{down.rows} * down.cols;
    const std::size_t per_expert =
        ops::dtype_matrix_bytes(down.type, down.rows, down.cols, down.cols);
    const uint32_t per_part = std::min(down.experts, down.experts_per_part);
    double sum = 0;
    uint32_t done = 0;
    for (std::size_t part = 0; done < down.experts; ++part) {
      const vk::Buffer& buffer = part == 0 ? down.buffer : down.more_parts.at(part - 1);
      const uint32_t count = std::min(per_part, down.experts - done);
      std::vector<std::byte> bytes(per_expert * count);
      stream.download(buffer.span(0, bytes.size()), bytes.data(), bytes.size());
      stream.finish();
      sum += squared_sum(bytes, down.type, per_expert_elements * count);
      done += count;
    }
    out.push_back(sum);
  }
  return out;
}

}  // namespace vkmoe::bayes
