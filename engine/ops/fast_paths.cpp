#include "engine/ops/fast_paths.h"

#include <cstdlib>
#include <string_view>

namespace vkmoe::ops {

bool fast_paths_disabled() {
  const char* value = std::getenv("VKMOE_DISABLE_FAST_PATHS");
  return value != nullptr && std::string_view(value) != "" && std::string_view(value) != "0";
}

FastPaths fast_paths(const vk::DeviceInfo& device) {
  if (fast_paths_disabled()) return {};
  const bool cpu = device.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  return {.integer_dot = device.integer_dot_product, .float16 = device.shader_float16 && !cpu};
}

}  // namespace vkmoe::ops
