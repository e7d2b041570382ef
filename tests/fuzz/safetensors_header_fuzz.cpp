// libFuzzer: a whole safetensors file (header length, JSON header, data section). Any outcome but
// a LoadError (crash, sanitizer report, other exception, hang, huge allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "loaders/load_error.h"
#include "loaders/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    const vkmoe::SafetensorsHeader h = vkmoe::parse_safetensors(file, "fuzz.safetensors");
    std::size_t sum = 0;
    for (const vkmoe::TensorView& t : h.tensors) {  // every view must lie inside the input
      if (!t.bytes.empty())
        sum += static_cast<std::size_t>(t.bytes.front()) + static_cast<std::size_t>(t.bytes.back());
    }
    (void)sum;
  } catch (const vkmoe::LoadError&) {
  }
  return 0;
}
