#include "engine/bayes/expert_weight_norms.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/vk/stream.h"
#include "loaders/quant_blocks.h"

namespace vkmoe::bayes {

namespace {

double squared_sum(const std::vector<std::byte>& bytes, ops::DType type) {
  double sum = 0;
  if (type == ops::DType::f32) {
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), v.size() * 4);
    for (float x : v) sum += static_cast<double>(x) * x;
    return sum;
  }
  std::vector<std::uint16_t> v(bytes.size() / 2);
  std::memcpy(v.data(), bytes.data(), v.size() * 2);
  for (std::uint16_t b : v) {
    const double x = type == ops::DType::f16 ? f16_to_f32(b) : bf16_to_f32(b);
    sum += x * x;
  }
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
    if (down.type != ops::DType::f32 && down.type != ops::DType::f16 &&
        down.type != ops::DType::bf16) {
      throw BayesError("layer " + std::to_string(l) +
                       ": the evidence needs ‖W‖² of quantised down_proj weights, not supported");
    }
    const std::size_t element = down.type == ops::DType::f32 ? 4 : 2;
    const std::size_t per_expert = std::size_t{down.rows} * down.cols * element;
    const uint32_t per_part = std::min(down.experts, down.experts_per_part);
    double sum = 0;
    uint32_t done = 0;
    for (std::size_t part = 0; done < down.experts; ++part) {
      const vk::Buffer& buffer = part == 0 ? down.buffer : down.more_parts.at(part - 1);
      const uint32_t count = std::min(per_part, down.experts - done);
      std::vector<std::byte> bytes(per_expert * count);
      stream.download(buffer.span(0, bytes.size()), bytes.data(), bytes.size());
      stream.finish();
      sum += squared_sum(bytes, down.type);
      done += count;
    }
    out.push_back(sum);
  }
  return out;
}

}  // namespace vkmoe::bayes
