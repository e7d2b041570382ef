// libFuzzer: tokenizer.json loading, then encoding and decoding with whatever loaded. Any
// input must end in a Tokenizer or a LoadError: no crash, hang or unjustified allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loaders/load_error.h"
#include "loaders/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const vkmoe::Tokenizer tokenizer = vkmoe::Tokenizer::from_json(text, "fuzz.json");
    for (std::string_view sample :
         {std::string_view("Hello world's 2024!\n\n  x"), text.substr(0, 256)}) {
      const auto ids = tokenizer.encode(sample, vkmoe::SpecialTokens::kAdd);
      (void)tokenizer.decode(ids);
      for (auto id : ids) (void)tokenizer.token_bytes(id);
    }
  } catch (const vkmoe::LoadError&) {
  }
  return 0;
}
