// A device buffer (a range of a memory block) and the views kernels bind.
#pragma once

#include <cstdint>
#include <string>

#include "engine/vk/memory.h"

namespace vkmoe::vk {

// A byte range of a VkBuffer: what a dispatch binds, a copy reads or writes.
struct BufferSpan {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;

  BufferSpan sub(VkDeviceSize byte_offset, VkDeviceSize byte_size) const;
  bool overlaps(const BufferSpan& other) const {
    return buffer == other.buffer && offset < other.offset + other.size &&
           other.offset < offset + size;
  }
};

class Buffer {
 public:
  Buffer() = default;
  Buffer(MemoryAllocator& allocator, VkDeviceSize size, MemoryUsage usage, std::string name);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // The bytes the caller asked for (the allocation may be larger).
  VkDeviceSize size() const { return size_; }
  const std::string& name() const { return name_; }
  BufferSpan span() const { return {allocation_.buffer, allocation_.offset, size_}; }
  BufferSpan span(VkDeviceSize byte_offset, VkDeviceSize byte_size) const {
    return span().sub(byte_offset, byte_size);
  }
  // Host pointer when the memory is host-visible (always for upload/download buffers).
  std::byte* mapped() const { return allocation_.mapped; }
  const Allocation& allocation() const { return allocation_; }
  bool valid() const { return allocation_.valid(); }

 private:
  void reset();

  MemoryAllocator* allocator_ = nullptr;
  Allocation allocation_;
  VkDeviceSize size_ = 0;
  std::string name_;
};

}  // namespace vkmoe::vk
