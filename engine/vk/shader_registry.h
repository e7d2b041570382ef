// SPIR-V of every shader variant, embedded at build time (shaders/CMakeLists.txt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vkmoe::shaders {

struct ShaderBinary {
  const char* name;
  const uint32_t* words;
  size_t word_count;
};

// Every variant the build produced; the pipeline registry looks names up here.
std::span<const ShaderBinary* const> all();

}  // namespace vkmoe::shaders
