// Errors with context: every failure names what was being done and, for Vulkan calls, the
// VkResult by name.
#pragma once

#include <vulkan/vulkan_core.h>

#include <stdexcept>
#include <string>

namespace vkmoe {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Device memory ran out (or would): carries the numbers so callers can report or fall back.
struct OutOfDeviceMemory : Error {
  using Error::Error;
};

const char* result_name(VkResult result);

// Throws Error("<what>: <VkResult name>") unless result is VK_SUCCESS.
void check(VkResult result, const char* what);

}  // namespace vkmoe
