// The Vulkan instance, optionally with the Khronos validation layer and a debug messenger
// that counts and keeps every validation message (tests fail on any).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "engine/vk/functions.h"

namespace vkmoe::vk {

struct InstanceOptions {
  // Unset: VKMOE_VALIDATION=1 in the environment turns it on.
  int validation = -1;
};

class Instance {
 public:
  explicit Instance(InstanceOptions options = {});
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  bool validation_enabled() const { return validation_; }
  uint32_t api_version() const { return api_version_; }

  // Validation messages (warnings and errors) received so far.
  std::vector<std::string> messages() const;
  size_t message_count() const;

  std::vector<VkPhysicalDevice> physical_devices() const;

 private:
  static VkBool32 VKAPI_PTR on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                       VkDebugUtilsMessageTypeFlagsEXT types,
                                       const VkDebugUtilsMessengerCallbackDataEXT* data,
                                       void* self);

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  bool validation_ = false;
  uint32_t api_version_ = VK_API_VERSION_1_2;
  mutable std::mutex messages_mutex_;
  std::vector<std::string> messages_;
};

// VKMOE_VALIDATION=1 turns validation on, =0 off; unset, the build's VKMOE_VALIDATION option
// decides.
bool validation_requested_by_environment();

}  // namespace vkmoe::vk
