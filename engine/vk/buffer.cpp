#include "engine/vk/buffer.h"

#include <utility>

#include "engine/vk/error.h"

namespace vkmoe::vk {

BufferSpan BufferSpan::sub(VkDeviceSize byte_offset, VkDeviceSize byte_size) const {
  if (byte_offset > size || byte_size > size - byte_offset) {
    throw Error("buffer view [" + std::to_string(byte_offset) + ", +" + std::to_string(byte_size) +
                ") is outside a span of " + std::to_string(size) + " bytes");
  }
  return {buffer, offset + byte_offset, byte_size};
}

Buffer::Buffer(MemoryAllocator& allocator, VkDeviceSize size, MemoryUsage usage, std::string name)
    : allocator_(&allocator),
      allocation_(allocator.allocate(size, usage, name)),
      size_(size),
      name_(std::move(name)) {}

Buffer::~Buffer() {
  reset();
}

Buffer::Buffer(Buffer&& other) noexcept
    : allocator_(other.allocator_),
      allocation_(std::exchange(other.allocation_, {})),
      size_(std::exchange(other.size_, 0)),
      name_(std::move(other.name_)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    allocator_ = other.allocator_;
    allocation_ = std::exchange(other.allocation_, {});
    size_ = std::exchange(other.size_, 0);
    name_ = std::move(other.name_);
  }
  return *this;
}

void Buffer::reset() {
  if (allocator_ && allocation_.valid()) allocator_->release(allocation_);
  allocation_ = {};
  size_ = 0;
}

}  // namespace vkmoe::vk
