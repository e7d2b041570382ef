// What a physical device offers, read once: the facts device choice, pipeline variants and
// `vkmoe devices` need.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/vk/functions.h"

namespace vkmoe::vk {

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
};

// A cooperative-matrix multiply the device runs in one subgroup: C[m x n] += A[m x k] . B[k x n]
// with A and B in f16, C and the result in f32 (the one combination the engine's kernels use).
struct CooperativeMatrixShape {
  uint32_t m = 0, n = 0, k = 0;
};

struct DeviceInfo {
  uint32_t index = 0;  // position in vkEnumeratePhysicalDevices, as VKMOE_DEVICE uses it
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver_name;
  std::string driver_info;
  VkDriverId driver_id = VkDriverId(0);
  // Lavapipe ends every shader loop after 65,535 back-edges per invocation in total (a guard
  // against endless loops), silently. Kernels whose loops could pass it split their work. 0: none.
  uint32_t max_loop_iterations = 0;
  uint32_t api_version = 0;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t driver_version = 0;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};

  uint32_t subgroup_size = 0;
  uint32_t min_subgroup_size = 0;
  uint32_t max_subgroup_size = 0;
  bool subgroup_arithmetic = false;
  bool subgroup_shuffle = false;  // subgroupShuffle in compute shaders
  uint32_t shared_memory_bytes = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_count[3] = {};
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_memory_allocation_size = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint64_t min_texel_buffer_offset_alignment = 0;
  uint32_t max_texel_buffer_elements = 0;
  uint32_t max_push_constants_size = 0;
  uint32_t max_bound_descriptor_sets = 0;
  uint32_t max_per_stage_storage_buffers = 0;

  bool shader_float16 = false;
  bool shader_int8 = false;
  bool storage_buffer_16bit = false;
  bool storage_buffer_8bit = false;
  // vulkanMemoryModel and vulkanMemoryModelDeviceScope (enabled together: with the first on,
  // shaders may use device scope, as atomics do, only with the second): the cooperative-matrix
  // kernels need them.
  bool vulkan_memory_model = false;
  bool integer_dot_product = false;  // VK_KHR_shader_integer_dot_product + shaderIntegerDotProduct
  // VK_KHR_cooperative_matrix with its feature in compute shaders (the device enables both), and
  // the f16 x f16 -> f32 subgroup shapes it lists, in the driver's order.
  bool cooperative_matrix = false;
  std::vector<CooperativeMatrixShape> cooperative_matrix_shapes;
  bool subgroup_size_control = false;
  // A compute pipeline can ask for whole subgroups of subgroup_size (computeFullSubgroups and
  // a required size in compute shaders), which kernels that index subgroups need where the
  // size varies (min_subgroup_size < max_subgroup_size).
  bool compute_full_subgroups = false;
  // Such kernels can run: the size is fixed, or the pipeline can fix it.
  bool fixed_compute_subgroups() const {
    return min_subgroup_size == max_subgroup_size || compute_full_subgroups;
  }

  float timestamp_period_ns = 0.0f;
  uint32_t compute_queue_family = UINT32_MAX;
  uint32_t timestamp_valid_bits = 0;
  std::vector<MemoryHeapInfo> heaps;

  bool has_compute_queue() const { return compute_queue_family != UINT32_MAX; }
};

// Every device the instance sees, in enumeration order.
std::vector<DeviceInfo> query_devices(VkInstance instance);

const char* device_type_name(VkPhysicalDeviceType type);

// Lower is preferred: discrete, integrated, virtual, CPU, other.
int device_type_rank(VkPhysicalDeviceType type);

// The device to use: VKMOE_DEVICE=<index> if set (validated), else the best-ranked device with a
// compute queue. Throws Error with the list of devices when nothing fits.
const DeviceInfo& choose_device(const std::vector<DeviceInfo>& devices);

// One line: name, driver, API, subgroup, shared memory, fp16, int8 dot, coopmat, range, heaps.
std::string banner(const DeviceInfo& device);

}  // namespace vkmoe::vk
