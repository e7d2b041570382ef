#include "engine/vk/device_info.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "engine/vk/error.h"

namespace vkmoe::vk {

namespace {

bool has_device_extension(VkPhysicalDevice device, const char* name) {
  uint32_t count = 0;
  fn.vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> extensions(count);
  fn.vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data());
  for (const auto& extension : extensions) {
    if (std::strcmp(extension.extensionName, name) == 0) return true;
  }
  return false;
}

std::string format_bytes(uint64_t bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed;
  if (bytes >= (1ull << 30)) {
    out << static_cast<double>(bytes) / double(1ull << 30) << " GiB";
  } else {
    out << static_cast<double>(bytes) / double(1ull << 20) << " MiB";
  }
  return out.str();
}

// Fills cooperative_matrix and its shapes for a device that has the extension and feature.
void query_cooperative_matrix(DeviceInfo& info) {
  VkPhysicalDeviceCooperativeMatrixPropertiesKHR stages{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_KHR};
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties.pNext = &stages;
  fn.vkGetPhysicalDeviceProperties2(info.handle, &properties);
  if (!(stages.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ||
      fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR == nullptr) {
    return;
  }
  uint32_t count = 0;
  if (fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(info.handle, &count, nullptr) !=
      VK_SUCCESS) {
    return;
  }
  std::vector<VkCooperativeMatrixPropertiesKHR> shapes(
      count, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR});
  if (fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(info.handle, &count, shapes.data()) !=
      VK_SUCCESS) {
    return;
  }
  info.cooperative_matrix = true;
  for (const auto& s : shapes) {
    if (s.AType == VK_COMPONENT_TYPE_FLOAT16_KHR && s.BType == VK_COMPONENT_TYPE_FLOAT16_KHR &&
        s.CType == VK_COMPONENT_TYPE_FLOAT32_KHR && s.ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR &&
        s.scope == VK_SCOPE_SUBGROUP_KHR && !s.saturatingAccumulation) {
      info.cooperative_matrix_shapes.push_back({s.MSize, s.NSize, s.KSize});
    }
  }
}

DeviceInfo query_one(VkPhysicalDevice handle, uint32_t index) {
  DeviceInfo info;
  info.index = index;
  info.handle = handle;

  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maintenance3{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlProperties size_control{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties.pNext = &driver;
  driver.pNext = &subgroup;
  subgroup.pNext = &maintenance3;
  const bool has_size_control =
      has_device_extension(handle, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  if (has_size_control) maintenance3.pNext = &size_control;
  fn.vkGetPhysicalDeviceProperties2(handle, &properties);

  const VkPhysicalDeviceLimits& limits = properties.properties.limits;
  info.name = properties.properties.deviceName;
  info.type = properties.properties.deviceType;
  info.api_version = properties.properties.apiVersion;
  info.vendor_id = properties.properties.vendorID;
  info.device_id = properties.properties.deviceID;
  info.driver_version = properties.properties.driverVersion;
  std::memcpy(info.pipeline_cache_uuid, properties.properties.pipelineCacheUUID, VK_UUID_SIZE);
  info.driver_name = driver.driverName;
  info.driver_id = driver.driverID;
  if (driver.driverID == VK_DRIVER_ID_MESA_LLVMPIPE) info.max_loop_iterations = 65535;
  info.driver_info = driver.driverInfo;
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                             (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  info.subgroup_shuffle = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                          (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  info.min_subgroup_size = has_size_control ? size_control.minSubgroupSize : subgroup.subgroupSize;
  info.max_subgroup_size = has_size_control ? size_control.maxSubgroupSize : subgroup.subgroupSize;
  info.shared_memory_bytes = limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) info.max_workgroup_count[i] = limits.maxComputeWorkGroupCount[i];
  info.max_storage_buffer_range = limits.maxStorageBufferRange;
  info.max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;
  info.min_storage_buffer_offset_alignment = limits.minStorageBufferOffsetAlignment;
  info.min_texel_buffer_offset_alignment = limits.minTexelBufferOffsetAlignment;
  info.max_texel_buffer_elements = limits.maxTexelBufferElements;
  info.max_push_constants_size = limits.maxPushConstantsSize;
  info.max_bound_descriptor_sets = limits.maxBoundDescriptorSets;
  info.max_per_stage_storage_buffers = limits.maxPerStageDescriptorStorageBuffers;
  info.timestamp_period_ns = limits.timestampPeriod;

  VkPhysicalDeviceVulkan12Features features12{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features features11{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceSubgroupSizeControlFeatures size_control_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  const bool has_dot_extension =
      has_device_extension(handle, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR coopmat_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  const bool has_coopmat_extension =
      has_device_extension(handle, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &features12;
  features12.pNext = &features11;
  if (has_size_control) features11.pNext = &size_control_features;
  if (has_dot_extension) {
    dot_features.pNext = features.pNext;
    features.pNext = &dot_features;
  }
  if (has_coopmat_extension) {
    coopmat_features.pNext = features.pNext;
    features.pNext = &coopmat_features;
  }
  fn.vkGetPhysicalDeviceFeatures2(handle, &features);
  info.shader_float16 = features12.shaderFloat16;
  info.shader_int8 = features12.shaderInt8;
  info.storage_buffer_8bit = features12.storageBuffer8BitAccess;
  info.vulkan_memory_model =
      features12.vulkanMemoryModel && features12.vulkanMemoryModelDeviceScope;
  info.storage_buffer_16bit = features11.storageBuffer16BitAccess;
  info.subgroup_size_control = has_size_control && size_control_features.subgroupSizeControl;
  info.compute_full_subgroups =
      info.subgroup_size_control && size_control_features.computeFullSubgroups &&
      (size_control.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
  // The extension and its feature (shaderIntegerDotProduct): the device enables both.
  info.integer_dot_product = has_dot_extension && dot_features.shaderIntegerDotProduct;
  if (has_coopmat_extension && coopmat_features.cooperativeMatrix) query_cooperative_matrix(info);

  uint32_t family_count = 0;
  fn.vkGetPhysicalDeviceQueueFamilyProperties(handle, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  fn.vkGetPhysicalDeviceQueueFamilyProperties(handle, &family_count, families.data());
  // Prefer a compute family without graphics (async compute) only when it has timestamps.
  for (uint32_t f = 0; f < family_count; ++f) {
    if (!(families[f].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (info.compute_queue_family == UINT32_MAX) {
      info.compute_queue_family = f;
      info.timestamp_valid_bits = families[f].timestampValidBits;
    }
  }

  VkPhysicalDeviceMemoryProperties memory{};
  fn.vkGetPhysicalDeviceMemoryProperties(handle, &memory);
  for (uint32_t h = 0; h < memory.memoryHeapCount; ++h) {
    info.heaps.push_back({memory.memoryHeaps[h].size,
                          (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  }
  return info;
}

}  // namespace

std::vector<DeviceInfo> query_devices(VkInstance instance) {
  uint32_t count = 0;
  check(fn.vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> handles(count);
  check(fn.vkEnumeratePhysicalDevices(instance, &count, handles.data()),
        "vkEnumeratePhysicalDevices");
  std::vector<DeviceInfo> devices;
  for (uint32_t i = 0; i < count; ++i) devices.push_back(query_one(handles[i], i));
  return devices;
}

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

int device_type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return 3;
    default:
      return 4;
  }
}

const DeviceInfo& choose_device(const std::vector<DeviceInfo>& devices) {
  if (devices.empty()) {
    throw Error(
        "no Vulkan device found: the loader sees no physical device (install a driver, e.g. "
        "`apt-get install mesa-vulkan-drivers` for the lavapipe CPU driver, or check "
        "VK_DRIVER_FILES / VK_ICD_FILENAMES)");
  }
  std::string list;
  for (const auto& device : devices) {
    list += "\n  " + std::to_string(device.index) + ": " + device.name + " (" +
            device_type_name(device.type) + ")";
  }
  if (const char* requested = std::getenv("VKMOE_DEVICE"); requested && *requested) {
    char* end = nullptr;
    const long index = std::strtol(requested, &end, 10);
    if (*end != '\0' || index < 0 || static_cast<size_t>(index) >= devices.size()) {
      throw Error(std::string("VKMOE_DEVICE=") + requested +
                  " is not a device index; devices:" + list);
    }
    const DeviceInfo& chosen = devices[static_cast<size_t>(index)];
    if (!chosen.has_compute_queue()) {
      throw Error(std::string("VKMOE_DEVICE=") + requested + " (" + chosen.name +
                  ") has no compute queue");
    }
    return chosen;
  }
  const DeviceInfo* best = nullptr;
  for (const auto& device : devices) {
    if (!device.has_compute_queue() || device.api_version < VK_API_VERSION_1_2) continue;
    if (!best || device_type_rank(device.type) < device_type_rank(best->type)) best = &device;
  }
  if (!best) throw Error("no Vulkan 1.2 device with a compute queue; devices:" + list);
  return *best;
}

std::string banner(const DeviceInfo& device) {
  std::ostringstream out;
  out << device.index << ": " << device.name << " (" << device_type_name(device.type)
      << ") | driver " << device.driver_name;
  if (!device.driver_info.empty()) out << " " << device.driver_info;
  out << " | Vulkan " << VK_API_VERSION_MAJOR(device.api_version) << "."
      << VK_API_VERSION_MINOR(device.api_version) << "." << VK_API_VERSION_PATCH(device.api_version)
      << " | subgroup " << device.subgroup_size;
  if (device.min_subgroup_size != device.max_subgroup_size) {
    out << " (" << device.min_subgroup_size << "-" << device.max_subgroup_size << ")";
  }
  out << " | shared " << device.shared_memory_bytes / 1024 << " KiB"
      << " | fp16 " << (device.shader_float16 ? "yes" : "no") << " | int8 dot "
      << (device.integer_dot_product ? "yes" : "no") << " | coopmat ";
  if (!device.cooperative_matrix) out << "no";
  for (size_t i = 0; i < device.cooperative_matrix_shapes.size(); ++i) {
    const CooperativeMatrixShape& s = device.cooperative_matrix_shapes[i];
    out << (i ? "," : "f16 ") << s.m << "x" << s.n << "x" << s.k;
  }
  if (device.cooperative_matrix && device.cooperative_matrix_shapes.empty()) out << "yes (no f16)";
  out << " | max buffer range " << format_bytes(device.max_storage_buffer_range) << " | heaps";
  for (size_t h = 0; h < device.heaps.size(); ++h) {
    out << (h ? ", " : " ") << format_bytes(device.heaps[h].size)
        << (device.heaps[h].device_local ? " device-local" : " host");
  }
  return out.str();
}

}  // namespace vkmoe::vk
