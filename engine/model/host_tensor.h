// A checkpoint tensor made ready for upload, on the host: F32, F16 and BF16 are passed on as
// stored (the kernels read them), every other type (the GGUF quants) is decoded to f32 here —
// a stop-gap until the GEMM kernels read quantised blocks themselves — and GGUF DeepSeek q/k
// rows are put back in the Hugging Face rotate_half order the RoPE kernel expects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/ops/launch.h"
#include "loaders/model_description.h"

namespace vkmoe::model {

// The type a tensor stored as `t` has on the device when kept "in its dtype".
ops::DType device_type(DType t);
bool decoded_on_host(DType t);  // true for the types device_type() widens to f32

class HostTensor {
 public:
  // `type` is device_type(t.view->dtype) or f32 (norms, biases, mixed groups).
  HostTensor(const ResolvedTensor& t, ops::DType type);

  ops::DType type() const { return type_; }
  std::int64_t elements() const { return elements_; }
  // Elements [first, first + count) as bytes of type().
  std::span<const std::byte> range(std::int64_t first, std::int64_t count) const;

 private:
  ops::DType type_;
  std::int64_t elements_ = 0;
  std::span<const std::byte> file_;  // used when nothing had to change
  std::vector<std::byte> owned_;     // converted or reordered bytes
};

}  // namespace vkmoe::model
