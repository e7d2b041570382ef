// "Does it fit?" before anything is allocated: a model or a KV cache larger than the device's
// memory is refused with the numbers, rather than failing halfway through an upload.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/vk/context.h"

namespace vkmoe::model {

// Throws OutOfDeviceMemory "<what> needs N of device memory, but the device-local heap has
// M (K already held by vkmoe)" when `bytes` cannot fit in the largest device-local heap.
void require_device_memory(vk::Context& context, std::uint64_t bytes, std::string_view what);

}  // namespace vkmoe::model
