// The logical device and its compute queue, with the optional features vkmoe's shaders use
// enabled wherever the physical device has them.
#pragma once

#include "engine/vk/device_info.h"

namespace vkmoe::vk {

class Device {
 public:
  explicit Device(const DeviceInfo& info);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  const DeviceInfo& info() const { return info_; }

 private:
  DeviceInfo info_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
};

}  // namespace vkmoe::vk
