// A command stream: uploads, dispatches and downloads are recorded back to back into one
// command buffer and submitted together by finish(). A barrier is recorded only where a
// command touches a range an earlier unsynchronised command wrote (or writes a range one
// read). Host data moves through a staging ring; when the ring is full the stream submits
// what it has, waits, and goes on.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/vk/buffer.h"
#include "engine/vk/pipelines.h"
#include "engine/vk/profiler.h"

namespace vkmoe::vk {

class Context;

enum class Access { read, write, read_write };

struct Binding {
  BufferSpan span;
  Access access = Access::read;
};

struct WorkGroups {
  uint32_t x = 1, y = 1, z = 1;
};

class Stream {
 public:
  explicit Stream(Context& context);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void upload(BufferSpan destination, const void* source, size_t bytes);
  // `destination` is written when the data has arrived: after finish() (or an earlier
  // internal submit); it must stay valid until then.
  void download(BufferSpan source, void* destination, size_t bytes);
  void fill(BufferSpan destination, uint32_t word);
  // Device-side copy of `source` into `destination` (same size; the spans must not overlap).
  void copy(BufferSpan source, BufferSpan destination);

  // Binds `bindings` to 0..N-1 of set 0 and pushes `push_constants`. `label` names the kernel
  // in profiles (defaults to the pipeline's name); `cost` feeds GFLOP/s and GB/s.
  void dispatch(const Pipeline& pipeline, std::span<const Binding> bindings,
                std::span<const std::byte> push_constants, WorkGroups groups,
                std::string_view label = {}, KernelCost cost = {});

  // Submits what was recorded and waits for it; completes downloads, records timestamps.
  void finish();

  Context& context() const { return context_; }
  uint64_t submit_count() const { return submits_; }
  uint64_t barrier_count() const { return barriers_; }
  uint64_t dispatch_count() const { return dispatches_; }

 private:
  struct PendingDownload {
    VkDeviceSize ring_offset;
    void* destination;
    size_t bytes;
  };
  struct PendingTimestamp {
    std::string label;
    KernelCost cost;
    uint32_t first_query;
  };

  void begin_if_needed();
  // Records a barrier if `span` conflicts with unsynchronised work; then notes the access.
  void order_access(const BufferSpan& span, Access access);
  void record_barrier();
  VkDeviceSize reserve_ring(VkDeviceSize bytes);
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);
  // Throws Error unless `binding` is read-only and can be viewed as RGBA32UI texels (size,
  // count, offset alignment).
  void check_texel_binding(const Pipeline& pipeline, uint32_t index, const Binding& binding) const;
  void destroy_buffer_views();

  Context& context_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer commands_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  uint32_t query_capacity_ = 0;
  uint32_t queries_used_ = 0;
  std::vector<VkDescriptorPool> descriptor_pools_;
  std::vector<VkBufferView> buffer_views_;  // texel-binding views of the recorded commands
  size_t current_pool_ = 0;
  bool recording_ = false;
  bool profiling_ = false;

  VkDeviceSize
      ring_bytes_;  // VKMOE_STAGING_BYTES or 32 MiB, at most one allocation; made on first use
  Buffer ring_;
  VkDeviceSize ring_used_ = 0;
  std::vector<PendingDownload> downloads_;
  std::vector<PendingTimestamp> timestamps_;

  std::vector<BufferSpan> written_since_barrier_;
  std::vector<BufferSpan> read_since_barrier_;
  uint64_t submits_ = 0;
  uint64_t barriers_ = 0;
  uint64_t dispatches_ = 0;
};

}  // namespace vkmoe::vk
