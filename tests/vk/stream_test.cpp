// The command stream: batching, barriers only where a hazard needs one, the staging ring,
// the binding-range limit, timestamps.
#include <cstdlib>
#include <numeric>

#include "engine/ops/elementwise.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

class StreamTest : public GpuTest {};

TEST_F(StreamTest, ManyDispatchesOneSubmit) {
  const uint64_t n = 1000;
  GuardedBuffer a(context(), stream(), n, "a");
  std::vector<GuardedBuffer> outs;
  for (int i = 0; i < 40; ++i) outs.emplace_back(context(), stream(), n, "out");
  a.write(stream(), random_floats(n, 7));
  stream().finish();
  const uint64_t submits = stream().submit_count();
  const uint64_t barriers = stream().barrier_count();
  // Independent kernels (each writes its own output, all read `a`): no barrier between them.
  for (auto& out : outs) ops::silu(stream(), a.span(), out.span(), n);
  stream().finish();
  EXPECT_EQ(stream().submit_count(), submits + 1);
  EXPECT_EQ(stream().barrier_count(), barriers);
}

TEST_F(StreamTest, DependentChainGetsOneBarrierPerStep) {
  const uint64_t n = 513;
  GuardedBuffer x(context(), stream(), n, "x");
  GuardedBuffer y(context(), stream(), n, "y");
  const auto values = random_floats(n, 8);
  x.write(stream(), values);
  stream().finish();
  const uint64_t before = stream().barrier_count();
  // x -> y -> x -> y: each step reads what the previous wrote.
  for (int step = 0; step < 4; ++step) {
    if (step % 2 == 0) {
      ops::add(stream(), x.span(), x.span(), y.span(), n);
    } else {
      ops::add(stream(), y.span(), y.span(), x.span(), n);
    }
  }
  std::vector<float> result = x.read(stream());
  EXPECT_EQ(stream().barrier_count() - before, 4u);  // 3 between the steps + 1 before the read
  for (uint64_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(result[i], values[i] * 16.0f);
}

TEST_F(StreamTest, UploadDownloadRoundTripThroughSmallRing) {
  setenv("VKMOE_STAGING_BYTES", "4096", 1);
  vk::Stream small(context());
  unsetenv("VKMOE_STAGING_BYTES");
  std::vector<uint32_t> data(300000);
  std::iota(data.begin(), data.end(), 1u);
  vk::Buffer buffer = context().create_buffer(data.size() * 4, "round trip");
  small.upload(buffer.span(), data.data(), data.size() * 4);
  std::vector<uint32_t> back(data.size());
  small.download(buffer.span(), back.data(), back.size() * 4);
  small.finish();
  EXPECT_EQ(back, data);
  EXPECT_GT(small.submit_count(), 100u);  // the ring filled and was reused many times
}

TEST_F(StreamTest, BindingPastTheRangeLimitIsRefused) {
  const VkDeviceSize limit = context().max_binding_range();
  vk::Buffer big = context().create_buffer(limit + 1024, "big");
  const uint32_t spec[] = {256, 0};
  const vk::Pipeline& pipeline = context().pipelines().get("elementwise", spec, {3, 16});
  const vk::Binding bindings[] = {{big.span(), vk::Access::read},
                                  {big.span(0, 1024), vk::Access::read},
                                  {big.span(0, 1024), vk::Access::write}};
  const uint32_t push[4] = {1, 0, 0, 0};
  try {
    stream().dispatch(pipeline, bindings, std::as_bytes(std::span(push)), {1, 1, 1});
    FAIL() << "a binding larger than maxStorageBufferRange was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("more than maxStorageBufferRange"), std::string::npos)
        << error.what();
  }
}

TEST_F(StreamTest, MisalignedBindingIsRefused) {
  vk::Buffer buffer = context().create_buffer(4096, "buffer");
  const VkDeviceSize alignment = context().info().min_storage_buffer_offset_alignment;
  if (alignment <= 4) GTEST_SKIP() << "every 4-byte offset is aligned on this device";
  const uint32_t spec[] = {256, 0};
  const vk::Pipeline& pipeline = context().pipelines().get("elementwise", spec, {3, 16});
  const vk::Binding bindings[] = {{buffer.span(4, 64), vk::Access::read},
                                  {buffer.span(0, 64), vk::Access::read},
                                  {buffer.span(1024, 64), vk::Access::write}};
  const uint32_t push[4] = {1, 0, 0, 0};
  EXPECT_THROW(stream().dispatch(pipeline, bindings, std::as_bytes(std::span(push)), {1, 1, 1}),
               Error);
}

// A texel binding (KernelLayout::texel_bindings) is a storage texel buffer viewed as RGBA32UI: it
// must be read-only and whole texels; a valid one runs, and its view is released at finish().
TEST_F(StreamTest, TexelBindingsAreCheckedAndViewed) {
  const uint32_t sg = context().info().subgroup_size;
  if (!context().info().subgroup_shuffle || sg == 0) GTEST_SKIP() << "no subgroup shuffle";
  vk::Buffer buffer = context().create_buffer(4096, "buffer");
  stream().fill(buffer.span(), 0);
  const uint32_t spec[] = {sg, 4, 4, 1};
  const vk::Pipeline& pipeline = context().pipelines().get("expert_gram_texels", spec, {4, 40, 1});
  // n 4, one expert with an empty list (offsets 0, 0), accumulating: the kernel adds nothing.
  const uint32_t push[10] = {4, 4, 0, 0, 0, 0, 16, 0, 1, 1};
  const auto run = [&](vk::Binding x) {
    const vk::Binding bindings[] = {x,
                                    {buffer.span(1024, 64), vk::Access::read_write},
                                    {buffer.span(2048, 8), vk::Access::read},
                                    {buffer.span(2048, 8), vk::Access::read}};
    stream().dispatch(pipeline, bindings, std::as_bytes(std::span(push)), {1, 1, 1});
  };
  const auto refusal = [&](vk::Binding x) -> std::string {
    try {
      run(x);
    } catch (const Error& error) {
      return error.what();
    }
    return "accepted";
  };
  EXPECT_NE(refusal({buffer.span(0, 64), vk::Access::read_write}).find("read-only"),
            std::string::npos);
  EXPECT_NE(refusal({buffer.span(0, 60), vk::Access::read}).find("16-byte texels"),
            std::string::npos);
  for (int round = 0; round < 2; ++round) {
    run({buffer.span(0, 64), vk::Access::read});
    stream().finish();
  }
}

TEST(StreamProfiling, TimestampsFillTheProfiler) {
  vk::ContextOptions options;
  options.validation = 1;
  options.profiling = 1;
  vk::Context context(options);
  {
    vk::Stream stream(context);
    const uint64_t n = 1 << 16;
    vk::Buffer a = context.create_buffer(n * 4, "a");
    vk::Buffer out = context.create_buffer(n * 4, "out");
    stream.fill(a.span(), 0);
    for (int i = 0; i < 3; ++i) ops::silu(stream, a.span(), out.span(), n);
    stream.finish();
  }
  const vk::KernelStats stats = context.profiler().find("elementwise_silu");
  EXPECT_EQ(stats.calls, 3u);
  EXPECT_GT(stats.total_ns, 0.0);
  EXPECT_GT(stats.gbytes_per_s(), 0.0);
  EXPECT_NE(context.profiler().table().find("elementwise_silu"), std::string::npos);
  EXPECT_EQ(context.validation_message_count(), 0u);
}

TEST(StreamProfiling, EnvironmentPrintsTheTableWhenTheContextEnds) {
  setenv("VKMOE_PROFILE", "1", 1);
  ::testing::internal::CaptureStderr();
  {
    vk::ContextOptions options;
    options.validation = 1;
    vk::Context context(options);
    unsetenv("VKMOE_PROFILE");
    ASSERT_TRUE(context.profiling());
    vk::Stream stream(context);
    vk::Buffer a = context.create_buffer(4096, "a");
    stream.fill(a.span(), 0);
    ops::add(stream, a.span(), a.span(), a.span(), 1024);
    stream.finish();
  }
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("vkmoe profile on"), std::string::npos) << printed;
  EXPECT_NE(printed.find("elementwise_add"), std::string::npos) << printed;
  EXPECT_NE(printed.find("GFLOP/s"), std::string::npos) << printed;
}

}  // namespace
}  // namespace vkmoe::test
