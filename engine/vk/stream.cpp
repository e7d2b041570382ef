#include "engine/vk/stream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/vk/context.h"
#include "engine/vk/error.h"

namespace vkmoe::vk {

namespace {

constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kBuffersPerSet = 8;
constexpr uint32_t kTimestampPairs = 1024;

VkDeviceSize staging_ring_bytes(VkDeviceSize max_allocation) {
  VkDeviceSize bytes = 32ull << 20;
  if (const char* value = std::getenv("VKMOE_STAGING_BYTES"); value && *value) {
    bytes = std::max<VkDeviceSize>(std::strtoull(value, nullptr, 10), 4096);
  }
  return max_allocation ? std::min(bytes, max_allocation) : bytes;  // 0: the device set no limit
}

}  // namespace

Stream::Stream(Context& context)
    : context_(context),
      profiling_(context.profiling()),
      ring_bytes_(staging_ring_bytes(context.allocator().max_allocation_size())) {
  VkDevice device = context.device().handle();
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pool_info.queueFamilyIndex = context.info().compute_queue_family;
  check(fn.vkCreateCommandPool(device, &pool_info, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo allocate{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  allocate.commandPool = pool_;
  allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  allocate.commandBufferCount = 1;
  check(fn.vkAllocateCommandBuffers(device, &allocate, &commands_), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(fn.vkCreateFence(device, &fence_info, nullptr, &fence_), "vkCreateFence");
  if (profiling_) {
    if (context.info().timestamp_valid_bits == 0) {
      throw Error("profiling needs timestamp queries, which " + context.info().name +
                  "'s compute queue does not support");
    }
    query_capacity_ = 2 * kTimestampPairs;
    VkQueryPoolCreateInfo query_info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    query_info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    query_info.queryCount = query_capacity_;
    check(fn.vkCreateQueryPool(device, &query_info, nullptr, &queries_), "vkCreateQueryPool");
  }
}

Stream::~Stream() {
  if (recording_) {
    try {
      finish();
    } catch (...) {
      // A destructor cannot report; the device is idled below either way.
    }
  }
  VkDevice device = context_.device().handle();
  fn.vkDeviceWaitIdle(device);
  destroy_buffer_views();
  for (VkDescriptorPool pool : descriptor_pools_) fn.vkDestroyDescriptorPool(device, pool, nullptr);
  if (queries_ != VK_NULL_HANDLE) fn.vkDestroyQueryPool(device, queries_, nullptr);
  fn.vkDestroyFence(device, fence_, nullptr);
  fn.vkDestroyCommandPool(device, pool_, nullptr);
}

void Stream::begin_if_needed() {
  if (recording_) return;
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(fn.vkBeginCommandBuffer(commands_, &begin), "vkBeginCommandBuffer");
  if (queries_ != VK_NULL_HANDLE) fn.vkCmdResetQueryPool(commands_, queries_, 0, query_capacity_);
  recording_ = true;
}

void Stream::record_barrier() {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                          VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages =
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  fn.vkCmdPipelineBarrier(commands_, stages, stages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  written_since_barrier_.clear();
  read_since_barrier_.clear();
  ++barriers_;
}

void Stream::order_access(const BufferSpan& span, Access access) {
  auto overlaps_any = [&](const std::vector<BufferSpan>& spans) {
    return std::any_of(spans.begin(), spans.end(),
                       [&](const BufferSpan& other) { return other.overlaps(span); });
  };
  const bool writes = access != Access::read;
  // Read-after-write and write-after-write need the earlier write visible; write-after-read
  // needs the earlier read finished.
  if (overlaps_any(written_since_barrier_) || (writes && overlaps_any(read_since_barrier_))) {
    record_barrier();
  }
  (writes ? written_since_barrier_ : read_since_barrier_).push_back(span);
  if (access == Access::read_write) read_since_barrier_.push_back(span);
}

VkDeviceSize Stream::reserve_ring(VkDeviceSize bytes) {
  if (!ring_.valid()) {
    ring_ = context_.create_buffer(ring_bytes_, "staging ring", MemoryUsage::download);
  }
  const VkDeviceSize alignment = context_.allocator().alignment();
  const VkDeviceSize rounded = (bytes + alignment - 1) / alignment * alignment;
  if (ring_used_ + rounded > ring_.size()) finish();  // frees the ring for reuse
  const VkDeviceSize offset = ring_used_;
  ring_used_ += rounded;
  return offset;
}

void Stream::upload(BufferSpan destination, const void* source, size_t bytes) {
  if (bytes > destination.size) {
    throw Error("upload of " + std::to_string(bytes) + " bytes into a span of " +
                std::to_string(destination.size));
  }
  if (bytes == 0) return;
  if (!ring_.valid()) reserve_ring(0);
  const auto* data = static_cast<const std::byte*>(source);
  size_t done = 0;
  while (done < bytes) {
    const size_t chunk = std::min<size_t>(bytes - done, ring_.size());
    const VkDeviceSize offset = reserve_ring(chunk);
    std::memcpy(ring_.mapped() + offset, data + done, chunk);
    context_.allocator().flush(ring_.allocation(), offset, chunk);
    begin_if_needed();
    const BufferSpan target{destination.buffer, destination.offset + done, chunk};
    order_access(target, Access::write);
    VkBufferCopy copy{ring_.span().offset + offset, target.offset, chunk};
    fn.vkCmdCopyBuffer(commands_, ring_.span().buffer, target.buffer, 1, &copy);
    done += chunk;
  }
}

void Stream::download(BufferSpan source, void* destination, size_t bytes) {
  if (bytes > source.size) {
    throw Error("download of " + std::to_string(bytes) + " bytes from a span of " +
                std::to_string(source.size));
  }
  if (bytes == 0) return;
  if (!ring_.valid()) reserve_ring(0);
  auto* out = static_cast<std::byte*>(destination);
  size_t done = 0;
  while (done < bytes) {
    const size_t chunk = std::min<size_t>(bytes - done, ring_.size());
    const VkDeviceSize offset = reserve_ring(chunk);
    begin_if_needed();
    const BufferSpan from{source.buffer, source.offset + done, chunk};
    order_access(from, Access::read);
    VkBufferCopy copy{from.offset, ring_.span().offset + offset, chunk};
    fn.vkCmdCopyBuffer(commands_, from.buffer, ring_.span().buffer, 1, &copy);
    downloads_.push_back({offset, out + done, chunk});
    done += chunk;
  }
}

void Stream::fill(BufferSpan destination, uint32_t word) {
  if (destination.size % 4 || destination.offset % 4) {
    throw Error("fill needs a span aligned to 4 bytes");
  }
  if (destination.size == 0) return;
  begin_if_needed();
  order_access(destination, Access::write);
  fn.vkCmdFillBuffer(commands_, destination.buffer, destination.offset, destination.size, word);
}

void Stream::copy(BufferSpan source, BufferSpan destination) {
  if (source.size != destination.size || source.overlaps(destination)) {
    throw Error("copy of " + std::to_string(source.size) + " bytes into a span of " +
                std::to_string(destination.size) + " bytes (sizes must match, spans not overlap)");
  }
  if (source.size == 0) return;
  begin_if_needed();
  order_access(source, Access::read);
  order_access(destination, Access::write);
  const VkBufferCopy region{source.offset, destination.offset, source.size};
  fn.vkCmdCopyBuffer(commands_, source.buffer, destination.buffer, 1, &region);
}

void Stream::check_texel_binding(const Pipeline& pipeline, uint32_t index,
                                 const Binding& binding) const {
  const DeviceInfo& info = context_.info();
  const BufferSpan& span = binding.span;
  const std::string what = "kernel " + pipeline.name + ": texel binding " + std::to_string(index);
  if (binding.access != Access::read) throw Error(what + " is read-only (a texel binding)");
  constexpr VkDeviceSize kTexelBytes = 16;  // RGBA32UI
  if (span.size % kTexelBytes) {
    throw Error(what + " spans " + std::to_string(span.size) +
                " bytes, not a whole number of 16-byte texels");
  }
  if (span.size / kTexelBytes > info.max_texel_buffer_elements) {
    throw Error(what + " holds " + std::to_string(span.size / kTexelBytes) +
                " texels, more than maxTexelBufferElements (" +
                std::to_string(info.max_texel_buffer_elements) + ")");
  }
  const VkDeviceSize alignment = info.min_texel_buffer_offset_alignment;
  if (alignment && span.offset % alignment) {
    throw Error(what + " offset " + std::to_string(span.offset) + " is not a multiple of " +
                std::to_string(alignment) + " (minTexelBufferOffsetAlignment)");
  }
}

void Stream::destroy_buffer_views() {
  VkDevice device = context_.device().handle();
  for (VkBufferView view : buffer_views_) fn.vkDestroyBufferView(device, view, nullptr);
  buffer_views_.clear();
}

VkDescriptorSet Stream::allocate_set(VkDescriptorSetLayout layout) {
  VkDevice device = context_.device().handle();
  for (;; ++current_pool_) {
    if (current_pool_ == descriptor_pools_.size()) {
      const VkDescriptorPoolSize sizes[] = {
          {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kBuffersPerSet},
          {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, kSetsPerPool * kBuffersPerSet}};
      VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      info.maxSets = kSetsPerPool;
      info.poolSizeCount = 2;
      info.pPoolSizes = sizes;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check(fn.vkCreateDescriptorPool(device, &info, nullptr, &pool), "vkCreateDescriptorPool");
      descriptor_pools_.push_back(pool);
    }
    VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    info.descriptorPool = descriptor_pools_[current_pool_];
    info.descriptorSetCount = 1;
    info.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    const VkResult result = fn.vkAllocateDescriptorSets(device, &info, &set);
    if (result == VK_SUCCESS) return set;
    if (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL) {
      check(result, "vkAllocateDescriptorSets");
    }
  }
}

void Stream::dispatch(const Pipeline& pipeline, std::span<const Binding> bindings,
                      std::span<const std::byte> push_constants, WorkGroups groups,
                      std::string_view label, KernelCost cost) {
  const DeviceInfo& info = context_.info();
  const std::string_view name = label.empty() ? std::string_view(pipeline.name) : label;
  if (bindings.size() != pipeline.interface.storage_buffers || bindings.size() > kBuffersPerSet) {
    throw Error("kernel " + pipeline.name + " takes " +
                std::to_string(pipeline.interface.storage_buffers) + " buffers, got " +
                std::to_string(bindings.size()));
  }
  if (push_constants.size() != pipeline.interface.push_constant_bytes) {
    throw Error("kernel " + pipeline.name + " takes " +
                std::to_string(pipeline.interface.push_constant_bytes) +
                " bytes of push constants, got " + std::to_string(push_constants.size()));
  }
  if (groups.x == 0 || groups.y == 0 || groups.z == 0) return;  // nothing to do
  if (groups.x > info.max_workgroup_count[0] || groups.y > info.max_workgroup_count[1] ||
      groups.z > info.max_workgroup_count[2]) {
    throw Error("kernel " + pipeline.name + ": grid " + std::to_string(groups.x) + "x" +
                std::to_string(groups.y) + "x" + std::to_string(groups.z) +
                " exceeds the device's maxComputeWorkGroupCount");
  }
  const VkDeviceSize range_limit = context_.max_binding_range();
  const VkDeviceSize alignment = info.min_storage_buffer_offset_alignment;
  for (size_t b = 0; b < bindings.size(); ++b) {
    const BufferSpan& span = bindings[b].span;
    // The engine never binds past the device limit: launchers split larger tensors.
    if (span.size > range_limit) {
      throw Error("kernel " + pipeline.name + ": binding " + std::to_string(b) + " spans " +
                  std::to_string(span.size) + " bytes, more than maxStorageBufferRange (" +
                  std::to_string(range_limit) + ")");
    }
    if (alignment && span.offset % alignment) {
      throw Error("kernel " + pipeline.name + ": binding " + std::to_string(b) + " offset " +
                  std::to_string(span.offset) + " is not a multiple of " +
                  std::to_string(alignment) + " (minStorageBufferOffsetAlignment)");
    }
    if (span.buffer == VK_NULL_HANDLE || span.size == 0) {
      throw Error("kernel " + pipeline.name + ": binding " + std::to_string(b) + " is empty");
    }
    if ((pipeline.interface.texel_bindings >> b) & 1u) {
      check_texel_binding(pipeline, static_cast<uint32_t>(b), bindings[b]);
    }
  }

  begin_if_needed();
  if (profiling_) {
    // Serialise so each kernel's interval holds only its own work.
    if (queries_used_ + 2 > query_capacity_) finish(), begin_if_needed();
    record_barrier();
    for (const Binding& binding : bindings) order_access(binding.span, binding.access);
  } else {
    for (const Binding& binding : bindings) order_access(binding.span, binding.access);
  }

  VkDescriptorSet set = allocate_set(pipeline.set_layout);
  VkDescriptorBufferInfo buffer_infos[kBuffersPerSet];
  VkBufferView views[kBuffersPerSet];
  VkWriteDescriptorSet writes[kBuffersPerSet];
  for (uint32_t b = 0; b < bindings.size(); ++b) {
    const BufferSpan& span = bindings[b].span;
    writes[b] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[b].dstSet = set;
    writes[b].dstBinding = b;
    writes[b].descriptorCount = 1;
    if ((pipeline.interface.texel_bindings >> b) & 1u) {
      // The view lives until the commands that read it have run (finish()).
      VkBufferViewCreateInfo view{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
      view.buffer = span.buffer;
      view.format = VK_FORMAT_R32G32B32A32_UINT;  // raw bits: shaders convert
      view.offset = span.offset;
      view.range = span.size;
      check(fn.vkCreateBufferView(context_.device().handle(), &view, nullptr, &views[b]),
            "vkCreateBufferView");
      buffer_views_.push_back(views[b]);
      writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
      writes[b].pTexelBufferView = &views[b];
    } else {
      buffer_infos[b] = {span.buffer, span.offset, span.size};
      writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[b].pBufferInfo = &buffer_infos[b];
    }
  }
  fn.vkUpdateDescriptorSets(context_.device().handle(), static_cast<uint32_t>(bindings.size()),
                            writes, 0, nullptr);

  fn.vkCmdBindPipeline(commands_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline);
  fn.vkCmdBindDescriptorSets(commands_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &set,
                             0, nullptr);
  if (!push_constants.empty()) {
    fn.vkCmdPushConstants(commands_, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                          static_cast<uint32_t>(push_constants.size()), push_constants.data());
  }
  if (profiling_) {
    fn.vkCmdWriteTimestamp(commands_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_,
                           queries_used_);
  }
  fn.vkCmdDispatch(commands_, groups.x, groups.y, groups.z);
  if (profiling_) {
    fn.vkCmdWriteTimestamp(commands_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_,
                           queries_used_ + 1);
    timestamps_.push_back({std::string(name), cost, queries_used_});
    queries_used_ += 2;
  }
  ++dispatches_;
}

void Stream::finish() {
  if (!recording_) return;
  if (!downloads_.empty()) {
    VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    fn.vkCmdPipelineBarrier(commands_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                            0, 1, &to_host, 0, nullptr, 0, nullptr);
  }
  check(fn.vkEndCommandBuffer(commands_), "vkEndCommandBuffer");
  recording_ = false;

  VkDevice device = context_.device().handle();
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands_;
  check(fn.vkQueueSubmit(context_.device().queue(), 1, &submit, fence_), "vkQueueSubmit");
  ++submits_;
  const VkResult waited = fn.vkWaitForFences(device, 1, &fence_, VK_TRUE, UINT64_MAX);
  if (waited == VK_ERROR_DEVICE_LOST) {
    throw Error(
        "the Vulkan device was lost while running a command stream (a kernel faulted "
        "or ran past the driver's time limit)");
  }
  check(waited, "vkWaitForFences");
  check(fn.vkResetFences(device, 1, &fence_), "vkResetFences");

  if (!downloads_.empty()) {
    context_.allocator().invalidate(ring_.allocation(), 0, ring_used_);
    for (const PendingDownload& pending : downloads_) {
      std::memcpy(pending.destination, ring_.mapped() + pending.ring_offset, pending.bytes);
    }
    downloads_.clear();
  }
  if (!timestamps_.empty()) {
    std::vector<uint64_t> ticks(queries_used_);
    check(fn.vkGetQueryPoolResults(device, queries_, 0, queries_used_,
                                   ticks.size() * sizeof(uint64_t), ticks.data(), sizeof(uint64_t),
                                   VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    const uint32_t bits = context_.info().timestamp_valid_bits;
    const uint64_t mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
    const double period = context_.info().timestamp_period_ns;
    for (const PendingTimestamp& stamp : timestamps_) {
      const uint64_t begin = ticks[stamp.first_query] & mask;
      const uint64_t end = ticks[stamp.first_query + 1] & mask;
      const uint64_t delta = (end - begin) & mask;
      context_.profiler().record(stamp.label, static_cast<double>(delta) * period, stamp.cost);
    }
    timestamps_.clear();
  }
  queries_used_ = 0;
  ring_used_ = 0;
  written_since_barrier_.clear();
  read_since_barrier_.clear();
  for (VkDescriptorPool pool : descriptor_pools_) fn.vkResetDescriptorPool(device, pool, 0);
  current_pool_ = 0;
  destroy_buffer_views();
  check(fn.vkResetCommandPool(device, pool_, 0), "vkResetCommandPool");
}

}  // namespace vkmoe::vk
