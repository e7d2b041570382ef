// The Vulkan entry points vkmoe uses, loaded at run time from the loader library so that a
// machine without one gets a clear error instead of a failure to start the program.
#pragma once

#include <vulkan/vulkan_core.h>  // VK_NO_PROTOTYPES is set for the whole build

#include "engine/vk/cooperative_matrix.h"

// X(name): resolved with vkGetInstanceProcAddr(nullptr, name) before an instance exists.
#define VKMOE_GLOBAL_FUNCTIONS(X)       \
  X(vkCreateInstance)                   \
  X(vkEnumerateInstanceVersion)         \
  X(vkEnumerateInstanceLayerProperties) \
  X(vkEnumerateInstanceExtensionProperties)

#define VKMOE_INSTANCE_FUNCTIONS(X)           \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceProperties2)           \
  X(vkGetPhysicalDeviceFeatures2)             \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkGetPhysicalDeviceMemoryProperties2)     \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)     \
  X(vkCreateDevice)                           \
  X(vkGetDeviceProcAddr)

// Present only when VK_EXT_debug_utils is enabled; may stay null.
#define VKMOE_DEBUG_FUNCTIONS(X)    \
  X(vkCreateDebugUtilsMessengerEXT) \
  X(vkDestroyDebugUtilsMessengerEXT)

// Present only where a device extension provides them (the loader may return null).
#define VKMOE_EXTENSION_INSTANCE_FUNCTIONS(X) X(vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)

#define VKMOE_DEVICE_FUNCTIONS(X)   \
  X(vkDestroyDevice)                \
  X(vkGetDeviceQueue)               \
  X(vkQueueSubmit)                  \
  X(vkDeviceWaitIdle)               \
  X(vkAllocateMemory)               \
  X(vkFreeMemory)                   \
  X(vkMapMemory)                    \
  X(vkUnmapMemory)                  \
  X(vkFlushMappedMemoryRanges)      \
  X(vkInvalidateMappedMemoryRanges) \
  X(vkCreateBuffer)                 \
  X(vkCreateBufferView)             \
  X(vkDestroyBufferView)            \
  X(vkDestroyBuffer)                \
  X(vkGetBufferMemoryRequirements)  \
  X(vkBindBufferMemory)             \
  X(vkCreateShaderModule)           \
  X(vkDestroyShaderModule)          \
  X(vkCreatePipelineCache)          \
  X(vkDestroyPipelineCache)         \
  X(vkGetPipelineCacheData)         \
  X(vkCreateComputePipelines)       \
  X(vkDestroyPipeline)              \
  X(vkCreatePipelineLayout)         \
  X(vkDestroyPipelineLayout)        \
  X(vkCreateDescriptorSetLayout)    \
  X(vkDestroyDescriptorSetLayout)   \
  X(vkCreateDescriptorPool)         \
  X(vkDestroyDescriptorPool)        \
  X(vkResetDescriptorPool)          \
  X(vkAllocateDescriptorSets)       \
  X(vkUpdateDescriptorSets)         \
  X(vkCreateCommandPool)            \
  X(vkDestroyCommandPool)           \
  X(vkResetCommandPool)             \
  X(vkAllocateCommandBuffers)       \
  X(vkBeginCommandBuffer)           \
  X(vkEndCommandBuffer)             \
  X(vkCmdBindPipeline)              \
  X(vkCmdBindDescriptorSets)        \
  X(vkCmdPushConstants)             \
  X(vkCmdDispatch)                  \
  X(vkCmdPipelineBarrier)           \
  X(vkCmdCopyBuffer)                \
  X(vkCmdFillBuffer)                \
  X(vkCmdResetQueryPool)            \
  X(vkCmdWriteTimestamp)            \
  X(vkCreateFence)                  \
  X(vkDestroyFence)                 \
  X(vkWaitForFences)                \
  X(vkResetFences)                  \
  X(vkCreateQueryPool)              \
  X(vkDestroyQueryPool)             \
  X(vkGetQueryPoolResults)

namespace vkmoe::vk {

// One table for the whole process: the loader's trampolines dispatch per instance/device.
struct Functions {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
#define VKMOE_DECLARE(name) PFN_##name name = nullptr;
  VKMOE_GLOBAL_FUNCTIONS(VKMOE_DECLARE)
  VKMOE_INSTANCE_FUNCTIONS(VKMOE_DECLARE)
  VKMOE_DEBUG_FUNCTIONS(VKMOE_DECLARE)
  VKMOE_EXTENSION_INSTANCE_FUNCTIONS(VKMOE_DECLARE)
  VKMOE_DEVICE_FUNCTIONS(VKMOE_DECLARE)
#undef VKMOE_DECLARE
};

// The process-wide table. Valid after load_library(); instance and device entries after
// load_instance_functions() / load_device_functions().
extern Functions fn;

// Opens the Vulkan loader (VKMOE_VULKAN_LIBRARY overrides the default libvulkan.so.1) and
// resolves the global entry points. Throws Error naming the library and what to install.
void load_library();
void load_instance_functions(VkInstance instance);
void load_device_functions(VkDevice device);

}  // namespace vkmoe::vk
