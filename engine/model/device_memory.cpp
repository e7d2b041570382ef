#include "engine/model/device_memory.h"

#include <string>

#include "engine/vk/error.h"
#include "engine/vk/memory.h"

namespace vkmoe::model {

void require_device_memory(vk::Context& context, std::uint64_t bytes, std::string_view what) {
  const auto& heaps = context.info().heaps;
  uint32_t best = 0;
  bool found = false;
  for (uint32_t h = 0; h < heaps.size(); ++h) {
    if (heaps[h].device_local && (!found || heaps[h].size > heaps[best].size)) {
      best = h;
      found = true;
    }
  }
  if (!found) return;  // nothing to compare with; the allocator reports failures itself
  const std::uint64_t held = context.allocator().heap_bytes_in_use(best);
  const std::uint64_t size = heaps[best].size;
  if (held <= size && bytes <= size - held) return;
  throw OutOfDeviceMemory(std::string(what) + " needs " + vk::format_size(bytes) +
                          " of device memory, but the device-local heap has " +
                          vk::format_size(size) + " (" + vk::format_size(held) +
                          " already held by vkmoe)");
}

}  // namespace vkmoe::model
