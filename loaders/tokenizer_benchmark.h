// Encode throughput of a tokenizer, for `vkmoe bench` (rates, not times, as benchmarks report).
#pragma once

#include <cstddef>
#include <string_view>

#include "loaders/tokenizer.h"

namespace vkmoe {

struct TokenizerThroughput {
  double megabytes_per_second = 0;  // input bytes (10^6) per second
  double tokens_per_second = 0;
  std::size_t bytes = 0;   // input bytes encoded in total
  std::size_t tokens = 0;  // ids produced in total
  double seconds = 0;
  int repetitions = 0;
};

// Encodes `text` repeatedly until at least `min_seconds` have passed (at least once). The first
// pass runs untimed as a warm-up, so the word cache is as warm as in a long session.
TokenizerThroughput measure_tokenizer_throughput(const Tokenizer& tokenizer, std::string_view text,
                                                 double min_seconds = 0.5);

}  // namespace vkmoe
