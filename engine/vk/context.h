// Everything one job needs on one device: instance, device, memory, pipelines, profiler.
// Typical use:
//   vk::Context ctx;
//   vk::Buffer x = ctx.create_buffer(bytes, "x");
//   vk::Stream stream(ctx);
//   stream.upload(x.span(), host, bytes); ops::silu(stream, ...); stream.download(...);
//   stream.finish();
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/vk/buffer.h"
#include "engine/vk/device.h"
#include "engine/vk/instance.h"
#include "engine/vk/memory.h"
#include "engine/vk/pipelines.h"
#include "engine/vk/profiler.h"

namespace vkmoe::vk {

struct ContextOptions {
  int validation = -1;  // -1: from VKMOE_VALIDATION
  int profiling = -1;   // -1: from VKMOE_PROFILE; profiling prints a table when the context ends
  std::optional<std::filesystem::path> cache_dir;  // unset: default_cache_dir()
};

class Context {
 public:
  explicit Context(ContextOptions options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return device_->info(); }
  const std::vector<DeviceInfo>& devices() const { return devices_; }
  Device& device() { return *device_; }
  MemoryAllocator& allocator() { return *allocator_; }
  PipelineRegistry& pipelines() { return *pipelines_; }
  Profiler& profiler() { return profiler_; }
  const Instance& instance() const { return *instance_; }

  Buffer create_buffer(VkDeviceSize bytes, std::string name,
                       MemoryUsage usage = MemoryUsage::device);

  bool profiling() const { return profiling_; }
  // Timestamps on every dispatch from now on (for streams created afterwards).
  void set_profiling(bool on) { profiling_ = on; }

  // The largest range one binding may cover: maxStorageBufferRange, or less when
  // VKMOE_MAX_BINDING_RANGE asks for it (tests use it to exercise splitting on any device).
  VkDeviceSize max_binding_range() const { return max_binding_range_; }

  // Validation messages since the context was created (always 0 without validation).
  size_t validation_message_count() const { return instance_->message_count(); }
  std::vector<std::string> validation_messages() const { return instance_->messages(); }

 private:
  std::unique_ptr<Instance> instance_;
  std::vector<DeviceInfo> devices_;
  std::unique_ptr<Device> device_;
  std::unique_ptr<MemoryAllocator> allocator_;
  std::unique_ptr<PipelineRegistry> pipelines_;
  Profiler profiler_;
  bool profiling_ = false;
  bool print_profile_ = false;
  VkDeviceSize max_binding_range_ = 0;
};

}  // namespace vkmoe::vk
