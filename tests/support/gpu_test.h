// Shared pieces of the GPU test suites: a context per test with validation on (every
// validation message fails the test), guard words around outputs, and error measures.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "engine/vk/context.h"
#include "engine/vk/stream.h"

namespace vkmoe::test {

// Creates the context with validation forced on and fails the test if the validation layer
// said anything by the end. A test that needs a device fails (never skips) without one.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  vk::Context& context() { return *context_; }
  vk::Stream& stream() { return *stream_; }
  // A device buffer holding `bytes` (weights as stored, say), created and uploaded.
  vk::Buffer upload(const std::vector<std::byte>& bytes, const char* name);

  std::unique_ptr<vk::Context> context_;
  std::unique_ptr<vk::Stream> stream_;
};

// A device buffer of `count` floats with `kGuardWords` sentinel words before and after.
// The kernel sees only span(); check_guards() reads the whole buffer back and reports any
// sentinel that changed (an out-of-bounds write).
class GuardedBuffer {
 public:
  static constexpr uint32_t kGuardWords = 64;
  static constexpr uint32_t kSentinel = 0x7fc0dead;  // a NaN no kernel produces

  GuardedBuffer(vk::Context& context, vk::Stream& stream, uint64_t count, const char* name);

  vk::BufferSpan span() const;
  // Reads back the payload; also checks the guards (EXPECT failures name the word).
  std::vector<float> read(vk::Stream& stream) const;
  void write(vk::Stream& stream, const std::vector<float>& values);
  uint64_t count() const { return count_; }

 private:
  vk::Buffer buffer_;
  uint64_t count_;
  std::string name_;
};

// Normalised mean squared error: sum (x - ref)^2 / sum ref^2.
double nmse(const std::vector<float>& actual, const std::vector<float>& reference);

std::vector<float> random_floats(size_t count, uint32_t seed, float low = -1.0f, float high = 1.0f);

}  // namespace vkmoe::test
