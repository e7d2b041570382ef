// Shared by the fit tests: the tiny models' folder and a few hand-made training examples whose
// tokens and labels are inside every tiny model's vocabulary.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/bayes/laplace_fit.h"

namespace vkmoe::test {

inline std::filesystem::path tiny_models() {
  const char* dir = std::getenv("VKMOE_TINY_MODELS");
  return dir != nullptr ? dir : VKMOE_TINY_MODELS_DIR;
}

// `count` examples of 3 to 9 tokens with 2 to 4 answer labels, varied by index.
inline std::vector<bayes::FitExample> tiny_examples(int count) {
  std::vector<bayes::FitExample> out;
  for (int n = 0; n < count; ++n) {
    bayes::FitExample e;
    const int length = 3 + (n * 5) % 7;
    for (int t = 0; t < length; ++t)
      e.prompt.push_back(static_cast<uint32_t>((7 * n + 3 * t + 1) % 50));
    const int classes = 2 + n % 3;
    for (int c = 0; c < classes; ++c)
      e.answers.push_back(static_cast<uint32_t>(60 + 4 * c + n % 2));
    e.label = n % classes;
    out.push_back(std::move(e));
  }
  return out;
}

inline std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace vkmoe::test
