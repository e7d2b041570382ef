#include "tests/support/gpu_test.h"

#include <cmath>
#include <cstring>

namespace vkmoe::test {

void GpuTest::SetUp() {
  vk::ContextOptions options;
  options.validation = 1;
  context_ = std::make_unique<vk::Context>(options);
  stream_ = std::make_unique<vk::Stream>(*context_);
}

void GpuTest::TearDown() {
  if (!context_) return;
  stream_.reset();
  const std::vector<std::string> messages = context_->validation_messages();
  EXPECT_TRUE(messages.empty()) << messages.size() << " validation message(s), first: "
                                << (messages.empty() ? "" : messages.front());
  context_.reset();
}

vk::Buffer GpuTest::upload(const std::vector<std::byte>& bytes, const char* name) {
  vk::Buffer buffer = context().create_buffer(bytes.size(), name);
  stream().upload(buffer.span(), bytes.data(), bytes.size());
  return buffer;
}

GuardedBuffer::GuardedBuffer(vk::Context& context, vk::Stream& stream, uint64_t count,
                             const char* name)
    : buffer_(context.create_buffer((count + 2 * kGuardWords) * 4, name)),
      count_(count),
      name_(name) {
  std::vector<uint32_t> init(count + 2 * kGuardWords, kSentinel);
  stream.upload(buffer_.span(), init.data(), init.size() * 4);
}

vk::BufferSpan GuardedBuffer::span() const {
  return buffer_.span(kGuardWords * 4, count_ * 4);
}

std::vector<float> GuardedBuffer::read(vk::Stream& stream) const {
  std::vector<uint32_t> all(count_ + 2 * kGuardWords);
  stream.download(buffer_.span(), all.data(), all.size() * 4);
  stream.finish();
  for (uint64_t i = 0; i < kGuardWords; ++i) {
    EXPECT_EQ(all[i], kSentinel) << name_ << ": guard word " << i << " before the output changed";
    EXPECT_EQ(all[kGuardWords + count_ + i], kSentinel)
        << name_ << ": guard word " << i << " after the output changed";
  }
  std::vector<float> values(count_);
  std::memcpy(values.data(), all.data() + kGuardWords, count_ * 4);
  return values;
}

void GuardedBuffer::write(vk::Stream& stream, const std::vector<float>& values) {
  stream.upload(span(), values.data(), values.size() * 4);
}

double nmse(const std::vector<float>& actual, const std::vector<float>& reference) {
  if (actual.size() != reference.size()) return INFINITY;
  double error = 0, norm = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double d = static_cast<double>(actual[i]) - reference[i];
    error += d * d;
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  if (!std::isfinite(error)) return INFINITY;
  return norm > 0 ? error / norm : error;
}

std::vector<float> random_floats(size_t count, uint32_t seed, float low, float high) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(count);
  for (float& v : values) v = distribution(generator);
  return values;
}

}  // namespace vkmoe::test
