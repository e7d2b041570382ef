// libFuzzer: arbitrary bytes through the Qwen2-style asset tokenizer. Byte-level BPE is
// lossless, so decode(encode(x)) must give back NFC(x) (malformed UTF-8 read as U+FFFD).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "loaders/tokenizer.h"
#include "loaders/unicode.h"
#include "loaders/unicode_normalize.h"

namespace {

const vkmoe::Tokenizer& asset_tokenizer() {
  static const vkmoe::Tokenizer tokenizer = vkmoe::Tokenizer::load(
      std::filesystem::path(__FILE__).parent_path() / "../../assets/tokenizer/tokenizer.json");
  return tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const vkmoe::Tokenizer& tokenizer = asset_tokenizer();
  const std::string decoded = tokenizer.decode(tokenizer.encode(text));
  const std::string expected =
      vkmoe::unicode::nfc(vkmoe::unicode::to_utf8(vkmoe::unicode::to_code_points(text)));
  if (decoded != expected) std::abort();
  return 0;
}
