// Block sub-allocator: device memory is taken from Vulkan in large blocks (≤ 1 GiB and ≤
// maxMemoryAllocationSize), each bound to one VkBuffer, and handed out as aligned ranges of
// those buffers. Tensors never cost a vkAllocateMemory or a vkCreateBuffer of their own
// unless they are larger than a block.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/vk/device.h"

namespace vkmoe::vk {

enum class MemoryUsage {
  device,    // device-local: tensors, weights, scratch
  upload,    // host-visible, written by the host, read by the device (staging)
  download,  // host-visible and preferably cached, written by the device, read by the host
};

struct Allocation {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  std::byte* mapped = nullptr;  // host pointer to offset, when the memory is host-visible
  uint32_t block = UINT32_MAX;
  bool valid() const { return buffer != VK_NULL_HANDLE; }
};

class MemoryAllocator {
 public:
  static constexpr VkDeviceSize kDefaultBlockSize = 256ull << 20;

  MemoryAllocator(const Device& device, VkDeviceSize block_size = kDefaultBlockSize);
  ~MemoryAllocator();
  MemoryAllocator(const MemoryAllocator&) = delete;
  MemoryAllocator& operator=(const MemoryAllocator&) = delete;

  // `what` names the tensor in errors. Throws OutOfDeviceMemory with the numbers when the
  // heap cannot hold it, before asking Vulkan.
  Allocation allocate(VkDeviceSize size, MemoryUsage usage, std::string_view what);
  void release(const Allocation& allocation);

  VkDeviceSize alignment() const { return alignment_; }
  // The largest single allocation: maxMemoryAllocationSize, or less when
  // VKMOE_MAX_ALLOCATION_SIZE asks for it (tests use it to make the loader split expert stacks
  // on any device). 0: the device states no limit.
  VkDeviceSize max_allocation_size() const { return max_allocation_size_; }
  // Bytes of each heap vkmoe holds in blocks.
  VkDeviceSize heap_bytes_in_use(uint32_t heap) const;
  // Non-coherent host-visible memory needs explicit flush/invalidate.
  void flush(const Allocation& allocation, VkDeviceSize offset, VkDeviceSize size) const;
  void invalidate(const Allocation& allocation, VkDeviceSize offset, VkDeviceSize size) const;

 private:
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    uint32_t memory_type = 0;
    std::byte* mapped = nullptr;
    bool coherent = true;
    bool dedicated = false;
    std::map<VkDeviceSize, VkDeviceSize> free_ranges;  // offset -> size, coalesced
    VkDeviceSize used = 0;
  };

  uint32_t choose_memory_type(MemoryUsage usage, uint32_t type_bits) const;
  uint32_t create_block(VkDeviceSize size, uint32_t memory_type, bool dedicated,
                        std::string_view what);
  void destroy_block(Block& block);

  const Device& device_;
  VkDeviceSize block_size_;
  VkDeviceSize alignment_;
  VkDeviceSize max_allocation_size_ = 0;
  VkPhysicalDeviceMemoryProperties memory_properties_{};
  uint32_t buffer_type_bits_ = 0;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::vector<VkDeviceSize> heap_in_use_;
  mutable std::mutex mutex_;
};

std::string format_size(uint64_t bytes);

}  // namespace vkmoe::vk
