// `vkmoe devices`: one banner line per Vulkan device, the chosen one marked.
#include <cstdio>

#include "engine/vk/context.h"
#include "engine/vk/device_info.h"
#include "engine/vk/error.h"
#include "tools/command.h"

namespace vkmoe::cli {

int run_devices(std::span<const std::string> args) {
  if (!args.empty()) throw Error("devices takes no arguments");
  vk::Instance instance;
  const std::vector<vk::DeviceInfo> devices = vk::query_devices(instance.handle());
  const vk::DeviceInfo& chosen = vk::choose_device(devices);
  for (const vk::DeviceInfo& device : devices) {
    std::printf("%s %s\n", device.index == chosen.index ? "*" : " ", vk::banner(device).c_str());
  }
  return instance.message_count() == 0 ? 0 : 1;
}

}  // namespace vkmoe::cli
