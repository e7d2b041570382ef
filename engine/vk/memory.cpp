#include "engine/vk/memory.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::vk {

namespace {

// Storage texel buffer: kernels may read a buffer as RGBA32UI texels (KernelLayout).
constexpr VkBufferUsageFlags kBufferUsage =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
    VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

VkDeviceSize align_up(VkDeviceSize value, VkDeviceSize alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

std::string format_size(uint64_t bytes) {
  char text[64];
  if (bytes >= (1ull << 30)) {
    std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / double(1ull << 30));
  } else if (bytes >= (1ull << 20)) {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / double(1ull << 20));
  } else {
    std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return text;
}

MemoryAllocator::MemoryAllocator(const Device& device, VkDeviceSize block_size) : device_(device) {
  const DeviceInfo& info = device.info();
  block_size_ = std::min<VkDeviceSize>(block_size, 1ull << 30);
  max_allocation_size_ = info.max_memory_allocation_size;
  if (const char* value = std::getenv("VKMOE_MAX_ALLOCATION_SIZE"); value && *value) {
    const unsigned long long requested = std::strtoull(value, nullptr, 10);
    if (requested < 4096) throw Error("VKMOE_MAX_ALLOCATION_SIZE must be at least 4096 bytes");
    if (max_allocation_size_ == 0 || requested < max_allocation_size_) {
      max_allocation_size_ = requested;
    }
  }
  if (max_allocation_size_) block_size_ = std::min<VkDeviceSize>(block_size_, max_allocation_size_);
  // 256 covers every minStorageBufferOffsetAlignment and nonCoherentAtomSize seen in practice,
  // so any sub-allocation can be bound and flushed at its own offset.
  alignment_ = std::max<VkDeviceSize>(256, info.min_storage_buffer_offset_alignment);
  fn.vkGetPhysicalDeviceMemoryProperties(info.handle, &memory_properties_);
  heap_in_use_.assign(memory_properties_.memoryHeapCount, 0);

  // Which memory types can back a storage buffer: ask once with a probe buffer.
  VkBufferCreateInfo probe{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  probe.size = 4096;
  probe.usage = kBufferUsage;
  VkBuffer buffer = VK_NULL_HANDLE;
  check(fn.vkCreateBuffer(device.handle(), &probe, nullptr, &buffer), "vkCreateBuffer (probe)");
  VkMemoryRequirements requirements{};
  fn.vkGetBufferMemoryRequirements(device.handle(), buffer, &requirements);
  fn.vkDestroyBuffer(device.handle(), buffer, nullptr);
  buffer_type_bits_ = requirements.memoryTypeBits;
}

MemoryAllocator::~MemoryAllocator() {
  for (auto& block : blocks_) {
    if (block) destroy_block(*block);
  }
}

uint32_t MemoryAllocator::choose_memory_type(MemoryUsage usage, uint32_t type_bits) const {
  VkMemoryPropertyFlags required = 0;
  VkMemoryPropertyFlags preferred = 0;
  VkMemoryPropertyFlags avoided = 0;
  switch (usage) {
    case MemoryUsage::device:
      preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      break;
    case MemoryUsage::upload:
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
      preferred = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      avoided = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      break;
    case MemoryUsage::download:
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
      preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
  }
  int best_score = -1;
  uint32_t best = UINT32_MAX;
  for (uint32_t t = 0; t < memory_properties_.memoryTypeCount; ++t) {
    if (!(type_bits & (1u << t))) continue;
    const VkMemoryPropertyFlags flags = memory_properties_.memoryTypes[t].propertyFlags;
    if ((flags & required) != required) continue;
    int score = 1 + 4 * __builtin_popcount(flags & preferred) - __builtin_popcount(flags & avoided);
    if (score > best_score) {
      best_score = score;
      best = t;
    }
  }
  if (best == UINT32_MAX) throw Error("no Vulkan memory type fits the requested buffer usage");
  return best;
}

uint32_t MemoryAllocator::create_block(VkDeviceSize size, uint32_t memory_type, bool dedicated,
                                       std::string_view what) {
  const DeviceInfo& info = device_.info();
  const uint32_t heap = memory_properties_.memoryTypes[memory_type].heapIndex;
  const VkDeviceSize heap_size = memory_properties_.memoryHeaps[heap].size;
  auto out_of_memory = [&](const char* detail) {
    return OutOfDeviceMemory("device out of memory: asked for " + format_size(size) + " for '" +
                             std::string(what) + "' on " + info.name + ", but memory heap " +
                             std::to_string(heap) + " has " + format_size(heap_size) +
                             " in all and vkmoe already holds " + format_size(heap_in_use_[heap]) +
                             " of it" + detail);
  };
  if (heap_in_use_[heap] + size > heap_size) throw out_of_memory("");
  if (max_allocation_size_ && size > max_allocation_size_) {
    throw OutOfDeviceMemory("'" + std::string(what) + "' needs one allocation of " +
                            format_size(size) +
                            ", more than the device's maxMemoryAllocationSize (" +
                            format_size(max_allocation_size_) + ")");
  }

  auto block = std::make_unique<Block>();
  block->size = size;
  block->memory_type = memory_type;
  block->dedicated = dedicated;
  const VkMemoryPropertyFlags flags = memory_properties_.memoryTypes[memory_type].propertyFlags;
  block->coherent = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;

  VkMemoryAllocateInfo allocate{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  allocate.allocationSize = size;
  allocate.memoryTypeIndex = memory_type;
  VkResult result = fn.vkAllocateMemory(device_.handle(), &allocate, nullptr, &block->memory);
  if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY) {
    throw out_of_memory(" (the driver refused the allocation)");
  }
  check(result, "vkAllocateMemory");

  VkBufferCreateInfo buffer_info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  buffer_info.size = size;
  buffer_info.usage = kBufferUsage;
  result = fn.vkCreateBuffer(device_.handle(), &buffer_info, nullptr, &block->buffer);
  if (result == VK_SUCCESS)
    result = fn.vkBindBufferMemory(device_.handle(), block->buffer, block->memory, 0);
  if (result == VK_SUCCESS && (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
    void* mapped = nullptr;
    result = fn.vkMapMemory(device_.handle(), block->memory, 0, VK_WHOLE_SIZE, 0, &mapped);
    block->mapped = static_cast<std::byte*>(mapped);
  }
  if (result != VK_SUCCESS) {
    destroy_block(*block);
    check(result, "creating a memory block");
  }
  block->free_ranges[0] = size;
  heap_in_use_[heap] += size;

  for (uint32_t i = 0; i < blocks_.size(); ++i) {
    if (!blocks_[i]) {
      blocks_[i] = std::move(block);
      return i;
    }
  }
  blocks_.push_back(std::move(block));
  return static_cast<uint32_t>(blocks_.size() - 1);
}

void MemoryAllocator::destroy_block(Block& block) {
  if (block.buffer != VK_NULL_HANDLE) fn.vkDestroyBuffer(device_.handle(), block.buffer, nullptr);
  if (block.memory != VK_NULL_HANDLE) {
    if (block.mapped) fn.vkUnmapMemory(device_.handle(), block.memory);
    fn.vkFreeMemory(device_.handle(), block.memory, nullptr);
  }
  block.buffer = VK_NULL_HANDLE;
  block.memory = VK_NULL_HANDLE;
}

Allocation MemoryAllocator::allocate(VkDeviceSize size, MemoryUsage usage, std::string_view what) {
  std::lock_guard lock(mutex_);
  const VkDeviceSize rounded = align_up(std::max<VkDeviceSize>(size, 4), alignment_);
  const uint32_t memory_type = choose_memory_type(usage, buffer_type_bits_);

  auto carve = [&](uint32_t index) -> Allocation {
    Block& block = *blocks_[index];
    for (auto it = block.free_ranges.begin(); it != block.free_ranges.end(); ++it) {
      if (it->second < rounded) continue;
      const VkDeviceSize offset = it->first;
      const VkDeviceSize remaining = it->second - rounded;
      block.free_ranges.erase(it);
      if (remaining) block.free_ranges[offset + rounded] = remaining;
      block.used += rounded;
      return {block.buffer, offset, rounded, block.mapped ? block.mapped + offset : nullptr, index};
    }
    return {};
  };

  if (rounded <= block_size_) {
    for (uint32_t i = 0; i < blocks_.size(); ++i) {
      if (!blocks_[i] || blocks_[i]->dedicated || blocks_[i]->memory_type != memory_type) continue;
      if (Allocation a = carve(i); a.valid()) return a;
    }
    return carve(create_block(block_size_, memory_type, false, what));
  }
  return carve(create_block(rounded, memory_type, true, what));
}

void MemoryAllocator::release(const Allocation& allocation) {
  if (!allocation.valid()) return;
  std::lock_guard lock(mutex_);
  Block& block = *blocks_.at(allocation.block);
  auto [it, inserted] = block.free_ranges.emplace(allocation.offset, allocation.size);
  if (!inserted) throw Error("internal: memory range released twice");
  block.used -= allocation.size;
  // Coalesce with the following and the preceding free range.
  if (auto next = std::next(it);
      next != block.free_ranges.end() && it->first + it->second == next->first) {
    it->second += next->second;
    block.free_ranges.erase(next);
  }
  if (it != block.free_ranges.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      block.free_ranges.erase(it);
    }
  }
  // Blocks of their own go back at once; shared blocks stay for reuse.
  if (block.dedicated && block.used == 0) {
    heap_in_use_[memory_properties_.memoryTypes[block.memory_type].heapIndex] -= block.size;
    destroy_block(block);
    blocks_[allocation.block].reset();
  }
}

VkDeviceSize MemoryAllocator::heap_bytes_in_use(uint32_t heap) const {
  std::lock_guard lock(mutex_);
  return heap < heap_in_use_.size() ? heap_in_use_[heap] : 0;
}

void MemoryAllocator::flush(const Allocation& allocation, VkDeviceSize offset,
                            VkDeviceSize size) const {
  const Block& block = *blocks_.at(allocation.block);
  if (block.coherent) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
  range.memory = block.memory;
  range.offset = allocation.offset + offset;
  range.size = align_up(size, alignment_);
  range.offset -= range.offset % alignment_;
  range.size = std::min(range.size, block.size - range.offset);
  check(fn.vkFlushMappedMemoryRanges(device_.handle(), 1, &range), "vkFlushMappedMemoryRanges");
}

void MemoryAllocator::invalidate(const Allocation& allocation, VkDeviceSize offset,
                                 VkDeviceSize size) const {
  const Block& block = *blocks_.at(allocation.block);
  if (block.coherent) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
  range.memory = block.memory;
  const VkDeviceSize start = (allocation.offset + offset) / alignment_ * alignment_;
  range.offset = start;
  range.size =
      std::min(align_up(allocation.offset + offset + size - start, alignment_), block.size - start);
  check(fn.vkInvalidateMappedMemoryRanges(device_.handle(), 1, &range),
        "vkInvalidateMappedMemoryRanges");
}

}  // namespace vkmoe::vk
