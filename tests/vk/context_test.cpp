// Instance, device choice, allocator and pipeline cache.
#include <unistd.h>

#include <filesystem>

#include "engine/vk/device_info.h"
#include "engine/vk/error.h"
#include "engine/vk/functions.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

TEST(DeviceChoice, RanksDiscreteFirstAndCpuLast) {
  EXPECT_LT(vk::device_type_rank(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
            vk::device_type_rank(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU));
  EXPECT_LT(vk::device_type_rank(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
            vk::device_type_rank(VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU));
  EXPECT_LT(vk::device_type_rank(VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU),
            vk::device_type_rank(VK_PHYSICAL_DEVICE_TYPE_CPU));
}

TEST(DeviceChoice, PicksTheBestRankedDevice) {
  std::vector<vk::DeviceInfo> devices(3);
  devices[0].type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  devices[1].type = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  devices[2].type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  for (uint32_t i = 0; i < 3; ++i) {
    devices[i].index = i;
    devices[i].compute_queue_family = 0;
    devices[i].api_version = VK_API_VERSION_1_2;
  }
  unsetenv("VKMOE_DEVICE");
  EXPECT_EQ(vk::choose_device(devices).index, 2u);
  devices[2].compute_queue_family = UINT32_MAX;  // a device without compute is passed over
  EXPECT_EQ(vk::choose_device(devices).index, 1u);
  setenv("VKMOE_DEVICE", "0", 1);
  EXPECT_EQ(vk::choose_device(devices).index, 0u);
  unsetenv("VKMOE_DEVICE");
}

class ContextTest : public GpuTest {};

TEST_F(ContextTest, LavapipeOrAnyDeviceIsUsable) {
  const vk::DeviceInfo& info = context().info();
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.api_version, VK_API_VERSION_1_2);
  EXPECT_GE(info.max_storage_buffer_range, 1u << 20);
  EXPECT_GT(info.subgroup_size, 0u);
  EXPECT_NE(vk::banner(info).find("max buffer range"), std::string::npos);
}

TEST_F(ContextTest, ValidationMessagesAreCaught) {
  // A buffer with no usage flags breaks a valid-usage rule: the layer must report it.
  const size_t before = context().validation_message_count();
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 256;
  info.usage = 0;
  VkBuffer buffer = VK_NULL_HANDLE;
  vk::fn.vkCreateBuffer(context().device().handle(), &info, nullptr, &buffer);
  if (buffer != VK_NULL_HANDLE)
    vk::fn.vkDestroyBuffer(context().device().handle(), buffer, nullptr);
  EXPECT_GT(context().validation_message_count(), before);
  // The fixture would fail the test on these expected messages; start it over clean.
  stream_.reset();
  context_.reset();
}

TEST_F(ContextTest, SubAllocationsShareBlocksAndReuseFreedRanges) {
  vk::Buffer a = context().create_buffer(1000, "a");
  vk::Buffer b = context().create_buffer(5000, "b");
  vk::Buffer c = context().create_buffer(300, "c");
  EXPECT_EQ(a.span().buffer, b.span().buffer);
  EXPECT_EQ(b.span().buffer, c.span().buffer);
  const VkDeviceSize alignment = context().allocator().alignment();
  for (const vk::Buffer* buffer : {&a, &b, &c}) {
    EXPECT_EQ(buffer->span().offset % alignment, 0u);
    EXPECT_EQ(buffer->span().offset % context().info().min_storage_buffer_offset_alignment, 0u);
  }
  EXPECT_FALSE(a.span().overlaps(b.span()));
  EXPECT_FALSE(b.span().overlaps(c.span()));
  const VkDeviceSize b_offset = b.span().offset;
  b = vk::Buffer();
  vk::Buffer d = context().create_buffer(4000, "d");  // fits the hole b left
  EXPECT_EQ(d.span().offset, b_offset);
}

TEST_F(ContextTest, TensorsLargerThanABlockGetTheirOwn) {
  vk::Buffer small = context().create_buffer(1024, "small");
  vk::Buffer large =
      context().create_buffer(vk::MemoryAllocator::kDefaultBlockSize + 4096, "large");
  EXPECT_NE(small.span().buffer, large.span().buffer);
  EXPECT_EQ(large.span().offset, 0u);
}

TEST(PipelineCache, IsWrittenUnderTheCacheDirectory) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("vkmoe-cache-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::path file;
  {
    vk::ContextOptions options;
    options.validation = 1;
    options.cache_dir = dir;
    vk::Context context(options);
    const uint32_t spec[] = {64, 1};
    const vk::Pipeline& first = context.pipelines().get("elementwise", spec, {3, 16});
    const vk::Pipeline& again = context.pipelines().get("elementwise", spec, {3, 16});
    EXPECT_EQ(&first, &again);  // created once, then looked up
    const uint32_t other_spec[] = {64, 2};
    EXPECT_NE(&first, &context.pipelines().get("elementwise", other_spec, {3, 16}));
    EXPECT_EQ(context.pipelines().size(), 2u);
    EXPECT_THROW(context.pipelines().get("no_such_shader", spec, {1, 0}), Error);
    file = context.pipelines().cache_file();
    EXPECT_EQ(context.validation_message_count(), 0u);
  }
  EXPECT_TRUE(std::filesystem::exists(file)) << file;
  EXPECT_GT(std::filesystem::file_size(file), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vkmoe::test
