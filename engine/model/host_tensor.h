// A checkpoint tensor made ready for upload, on the host: F32, F16, BF16 and the GGUF quants
// Q8_0, Q4_0 and Q4_K are passed on as stored (the matrix kernels read their blocks), or
// decoded to f32 when asked (embedding tables, norms, groups of mixed types); every other
// type is decoded to f32. GGUF DeepSeek q/k rows are put back in the Hugging Face rotate_half
// order the RoPE kernel expects (whole rows move, so quantised rows move as blocks).
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
// The checkpoint dtype whose bytes a device weight of `type` holds (GEMM weights are kept as
// stored), for loaders' host decoders (decode_to_f32) when device weights are read back.
DType stored_type(ops::DType type);

class HostTensor {
 public:
  // `type` is device_type(t.view->dtype) or f32 (norms, biases, mixed groups).
  HostTensor(const ResolvedTensor& t, ops::DType type);

  ops::DType type() const { return type_; }
  std::int64_t elements() const { return elements_; }
  // Elements [first, first + count) as bytes of type() (whole blocks for quants).
  std::span<const std::byte> range(std::int64_t first, std::int64_t count) const;

 private:
  ops::DType type_;
  std::int64_t elements_ = 0;
  std::span<const std::byte> file_;  // used when nothing had to change
  std::vector<std::byte> owned_;     // converted or reordered bytes
};

}  // namespace vkmoe::model
