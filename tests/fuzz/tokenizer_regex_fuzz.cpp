// libFuzzer: the pattern compiler and matcher. The first line of the input is a pattern, the
// rest the subject; a pattern compiles or is refused with a LoadError, and matching ends
// (possibly with the backtracking-budget LoadError) with matches in order inside the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "loaders/load_error.h"
#include "loaders/tokenizer_regex.h"
#include "loaders/unicode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view pattern = input.substr(0, newline);
  const std::string_view subject =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  try {
    const vkmoe::TokenizerRegex regex = vkmoe::TokenizerRegex::compile(pattern, "fuzz");
    const std::u32string text = vkmoe::unicode::to_code_points(subject);
    std::size_t last_end = 0;
    for (const auto& m : regex.find_all(text)) {
      if (m.begin < last_end || m.end < m.begin || m.end > text.size()) std::abort();
      last_end = m.end;
    }
  } catch (const vkmoe::LoadError&) {
  }
  return 0;
}
