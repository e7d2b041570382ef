#include "engine/vk/device.h"

#include <vector>

#include "engine/vk/error.h"

namespace vkmoe::vk {

Device::Device(const DeviceInfo& info) : info_(info) {
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = info.compute_queue_family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  VkPhysicalDeviceVulkan11Features features11{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  features11.storageBuffer16BitAccess = info.storage_buffer_16bit;
  VkPhysicalDeviceVulkan12Features features12{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  features12.shaderFloat16 = info.shader_float16;
  features12.shaderInt8 = info.shader_int8;
  features12.storageBuffer8BitAccess = info.storage_buffer_8bit;
  features12.vulkanMemoryModel = info.vulkan_memory_model;
  features12.vulkanMemoryModelDeviceScope = info.vulkan_memory_model;
  features11.pNext = &features12;
  VkPhysicalDeviceSubgroupSizeControlFeatures size_control{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  size_control.subgroupSizeControl = VK_TRUE;
  size_control.computeFullSubgroups = info.compute_full_subgroups;

  std::vector<const char*> extensions;
  if (info.subgroup_size_control) {
    extensions.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    features12.pNext = &size_control;
  }
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.features.shaderInt64 = VK_FALSE;
  features.pNext = &features11;
  // An extension with its feature structure (sType and pNext first, as every one has), chained
  // into `features`: enabled only where the device has both (DeviceInfo says so).
  const auto enable = [&](const char* extension, void* feature_structure) {
    extensions.push_back(extension);
    auto* structure = static_cast<VkBaseOutStructure*>(feature_structure);
    structure->pNext = static_cast<VkBaseOutStructure*>(features.pNext);
    features.pNext = structure;
  };
  // Integer dot products (shaders/gemv_dot.comp).
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  dot_features.shaderIntegerDotProduct = VK_TRUE;
  if (info.integer_dot_product)
    enable(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME, &dot_features);
  // Cooperative matrices (shaders/gemm_coopmat.comp).
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR coopmat_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  coopmat_features.cooperativeMatrix = VK_TRUE;
  if (info.cooperative_matrix) enable(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME, &coopmat_features);

  VkDeviceCreateInfo create{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  create.pNext = &features;
  create.queueCreateInfoCount = 1;
  create.pQueueCreateInfos = &queue_info;
  create.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  create.ppEnabledExtensionNames = extensions.data();
  check(fn.vkCreateDevice(info.handle, &create, nullptr, &device_),
        ("vkCreateDevice on '" + info.name + "'").c_str());
  load_device_functions(device_);
  fn.vkGetDeviceQueue(device_, info.compute_queue_family, 0, &queue_);
}

Device::~Device() {
  if (device_ != VK_NULL_HANDLE) {
    fn.vkDeviceWaitIdle(device_);
    fn.vkDestroyDevice(device_, nullptr);
  }
}

}  // namespace vkmoe::vk
