// Compute pipelines, created on first use and keyed by (shader variant, specialization
// constants), backed by a VkPipelineCache persisted under the user's cache directory.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/vk/device.h"

namespace vkmoe::vk {

// What a shader's interface looks like to the host: N buffers at set 0, bindings 0..N-1, and a
// push-constant block of the given size. A binding is a storage buffer unless its bit is set in
// `texel_bindings`: then it is a read-only storage texel buffer the stream views as RGBA32UI
// texels (on lavapipe an imageLoad is inline code, a storage-buffer read a loop over the lanes).
struct KernelLayout {
  uint32_t storage_buffers = 0;  // all bindings, texel buffers included
  uint32_t push_constant_bytes = 0;
  uint32_t texel_bindings = 0;  // bit b: binding b is a storage texel buffer
  // Nonzero: the kernel indexes subgroups (gl_SubgroupID) and sizes its workgroup in whole
  // subgroups of this size. Where the device's size varies, the pipeline requires it and full
  // subgroups (DeviceInfo::fixed_compute_subgroups() says whether it can); where it is fixed, it
  // must be that size.
  uint32_t whole_subgroups = 0;
};

struct Pipeline {
  std::string name;  // shader variant name, used by the profiler
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  KernelLayout interface;
};

class PipelineRegistry {
 public:
  // cache_dir empty: no persistent cache.
  PipelineRegistry(const Device& device, std::filesystem::path cache_dir);
  ~PipelineRegistry();
  PipelineRegistry(const PipelineRegistry&) = delete;
  PipelineRegistry& operator=(const PipelineRegistry&) = delete;

  // Specialization constant i gets constant_id i. Throws Error if no variant has that name.
  const Pipeline& get(std::string_view shader, std::span<const uint32_t> specialization,
                      KernelLayout layout);

  // Writes the pipeline cache (to a temporary file, then renamed). Called by the destructor.
  void save() const;
  size_t size() const;
  const std::filesystem::path& cache_file() const { return cache_file_; }

 private:
  VkDescriptorSetLayout set_layout_for(const KernelLayout& layout);

  const Device& device_;
  std::filesystem::path cache_file_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::map<std::string, std::unique_ptr<Pipeline>, std::less<>> pipelines_;
  std::map<std::pair<uint32_t, uint32_t>, VkDescriptorSetLayout> set_layouts_;
  mutable std::mutex mutex_;
};

// $VKMOE_CACHE_DIR, else $XDG_CACHE_HOME/vkmoe, else $HOME/.cache/vkmoe; empty if none is set.
std::filesystem::path default_cache_dir();

}  // namespace vkmoe::vk
