#include "engine/ops/fast_paths.h"

#include <cstdlib>
#include <string_view>

namespace vkmoe::ops {

bool fast_paths_disabled() {
  const char* value = std::getenv("VKMOE_DISABLE_FAST_PATHS");
  return value != nullptr && std::string_view(value) != "" && std::string_view(value) != "0";
}

bool fast_paths_forced() {
  const char* value = std::getenv("VKMOE_FORCE_FAST_PATHS");
  return value != nullptr && std::string_view(value) == "1";
}

FastPaths fast_paths(const vk::DeviceInfo& device) {
  if (fast_paths_disabled()) return {};
  const bool gpu_paths = device.type != VK_PHYSICAL_DEVICE_TYPE_CPU || fast_paths_forced();
  return {.integer_dot = device.integer_dot_product,
          .float16 = device.shader_float16 && gpu_paths,
          .cooperative_matrix = device.cooperative_matrix && gpu_paths};
}

}  // namespace vkmoe::ops
