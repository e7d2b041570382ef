// libFuzzer: a whole GGUF file, then everything built on it: model config, tensor mapping,
// tokenizer arrays and the block decoders on the first tensors.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "loaders/gguf.h"
#include "loaders/gguf_model.h"
#include "loaders/load_error.h"
#include "loaders/quant_blocks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    const vkmoe::GgufFile f = vkmoe::GgufFile::parse(file, "fuzz.gguf");
    std::vector<float> out;
    int decoded = 0;
    for (const vkmoe::TensorView& t : f.tensors()) {
      if (decoded++ == 4 || t.numel() > 4096) break;
      out.resize(static_cast<std::size_t>(t.numel()));
      vkmoe::decode_to_f32(t.dtype, t.bytes, out);
    }
    try {
      (void)vkmoe::resolve_gguf_model(f);
    } catch (const vkmoe::LoadError&) {
    }
    (void)vkmoe::gguf_tokenizer(f);
  } catch (const vkmoe::LoadError&) {
  }
  return 0;
}
