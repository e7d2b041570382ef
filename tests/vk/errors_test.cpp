// Each failure a user can meet before any kernel runs gives a message that says what to do.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/vk/context.h"
#include "engine/vk/error.h"

namespace vkmoe::test {
namespace {

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      unsetenv(name_);
    } else {
      setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(VulkanErrors, NoLoaderSaysWhatToInstall) {
  ScopedEnv library("VKMOE_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1");
  const std::string message = error_of([] { vk::Context context; });
  EXPECT_NE(message.find("cannot load the Vulkan loader '/nonexistent/libvulkan.so.1'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("libvulkan1"), std::string::npos) << message;
}

TEST(VulkanErrors, NotALoader) {
  ScopedEnv library("VKMOE_VULKAN_LIBRARY", "libc.so.6");
  const std::string message = error_of([] { vk::Context context; });
  EXPECT_NE(message.find("is not a Vulkan loader"), std::string::npos) << message;
}

TEST(VulkanErrors, NoDriverSaysWhatToInstall) {
  // The loader reads these when an instance is created: point it at no driver at all.
  ScopedEnv driver_files("VK_DRIVER_FILES", "/nonexistent/icd.json");
  ScopedEnv icd_filenames("VK_ICD_FILENAMES", "/nonexistent/icd.json");
  const std::string message = error_of([] {
    vk::ContextOptions options;
    options.validation = 0;
    vk::Context context(options);
  });
  EXPECT_NE(message.find("mesa-vulkan-drivers"), std::string::npos) << message;
  EXPECT_TRUE(message.find("no Vulkan driver found") != std::string::npos ||
              message.find("no Vulkan device found") != std::string::npos)
      << message;
}

TEST(VulkanErrors, DeviceIndexOutOfRangeListsDevices) {
  ScopedEnv device("VKMOE_DEVICE", "97");
  const std::string message = error_of([] { vk::Context context; });
  EXPECT_NE(message.find("VKMOE_DEVICE=97 is not a device index; devices:"), std::string::npos)
      << message;
  EXPECT_NE(message.find("0: "), std::string::npos) << message;
}

TEST(VulkanErrors, DeviceIndexNotANumber) {
  ScopedEnv device("VKMOE_DEVICE", "gpu0");
  const std::string message = error_of([] { vk::Context context; });
  EXPECT_NE(message.find("VKMOE_DEVICE=gpu0 is not a device index"), std::string::npos) << message;
}

TEST(VulkanErrors, OutOfDeviceMemoryNamesTheSizes) {
  vk::ContextOptions options;
  options.validation = 1;
  vk::Context context(options);
  const uint64_t heap = context.info().heaps.at(0).size;
  const uint64_t asked = heap * 4;
  try {
    vk::Buffer huge = context.create_buffer(asked, "expert_weights");
    FAIL() << "allocating four times the heap succeeded";
  } catch (const OutOfDeviceMemory& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("device out of memory: asked for " + vk::format_size(asked) +
                           " for 'expert_weights'"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("has " + vk::format_size(heap) + " in all"), std::string::npos)
        << message;
  }
  EXPECT_EQ(context.validation_message_count(), 0u);
}

TEST(VulkanErrors, OutOfMemoryCountsWhatIsAlreadyHeld) {
  vk::ContextOptions options;
  options.validation = 1;
  vk::Context context(options);
  const uint64_t heap = context.info().heaps.at(0).size;
  // Two thirds of the heap twice: the second must fail and say how much vkmoe holds.
  const uint64_t part = std::min<uint64_t>(heap / 3 * 2, context.info().max_memory_allocation_size);
  if (part * 2 <= heap) GTEST_SKIP() << "maxMemoryAllocationSize is too small for this check";
  vk::Buffer first = context.create_buffer(part, "first");
  const std::string message =
      error_of([&] { vk::Buffer second = context.create_buffer(part, "second"); });
  EXPECT_NE(message.find("for 'second'"), std::string::npos) << message;
  EXPECT_NE(message.find("vkmoe already holds " + vk::format_size(part)), std::string::npos)
      << message;
}

TEST(VulkanErrors, ValidationRequestedButLayerMissing) {
  // VK_LAYER_PATH replaces the loader's search path for explicit layers.
  ScopedEnv layers("VK_LAYER_PATH", "/nonexistent");
  const std::string message = error_of([] {
    vk::ContextOptions options;
    options.validation = 1;
    vk::Context context(options);
  });
  EXPECT_NE(message.find("apt-get install vulkan-validationlayers"), std::string::npos) << message;
}

}  // namespace
}  // namespace vkmoe::test
