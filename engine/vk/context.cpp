#include "engine/vk/context.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/vk/error.h"

namespace vkmoe::vk {

namespace {

int flag_from_environment(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::strcmp(value, "0") != 0 ? 1 : 0;
}

}  // namespace

Context::Context(ContextOptions options) {
  instance_ = std::make_unique<Instance>(InstanceOptions{options.validation});
  devices_ = query_devices(instance_->handle());
  device_ = std::make_unique<Device>(choose_device(devices_));
  allocator_ = std::make_unique<MemoryAllocator>(*device_);
  pipelines_ = std::make_unique<PipelineRegistry>(
      *device_, options.cache_dir ? *options.cache_dir : default_cache_dir());
  profiling_ =
      options.profiling < 0 ? flag_from_environment("VKMOE_PROFILE") != 0 : options.profiling != 0;
  print_profile_ = profiling_ && options.profiling < 0;

  max_binding_range_ = info().max_storage_buffer_range;
  if (const char* value = std::getenv("VKMOE_MAX_BINDING_RANGE"); value && *value) {
    const unsigned long long requested = std::strtoull(value, nullptr, 10);
    if (requested < 1024) throw Error("VKMOE_MAX_BINDING_RANGE must be at least 1024 bytes");
    if (requested < max_binding_range_) max_binding_range_ = requested;
  }
}

Context::~Context() {
  if (print_profile_) {
    std::fprintf(stderr, "\nvkmoe profile on %s\n%s", info().name.c_str(),
                 profiler_.table().c_str());
  }
}

Buffer Context::create_buffer(VkDeviceSize bytes, std::string name, MemoryUsage usage) {
  return Buffer(*allocator_, bytes, usage, std::move(name));
}

}  // namespace vkmoe::vk
