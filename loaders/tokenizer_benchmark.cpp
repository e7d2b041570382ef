#include "loaders/tokenizer_benchmark.h"

#include <chrono>

namespace vkmoe {

TokenizerThroughput measure_tokenizer_throughput(const Tokenizer& tokenizer, std::string_view text,
                                                 double min_seconds) {
  using Clock = std::chrono::steady_clock;
  TokenizerThroughput result;
  (void)tokenizer.encode(text);  // warm-up
  const Clock::time_point start = Clock::now();
  do {
    result.tokens += tokenizer.encode(text).size();
    result.bytes += text.size();
    ++result.repetitions;
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } while (result.seconds < min_seconds);
  if (result.seconds > 0) {
    result.megabytes_per_second = static_cast<double>(result.bytes) / 1e6 / result.seconds;
    result.tokens_per_second = static_cast<double>(result.tokens) / result.seconds;
  }
  return result;
}

}  // namespace vkmoe
