#include "engine/vk/pipelines.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "engine/vk/error.h"
#include "engine/vk/shader_registry.h"

namespace vkmoe::vk {

namespace {

const shaders::ShaderBinary* find_shader(std::string_view name) {
  for (const shaders::ShaderBinary* shader : shaders::all()) {
    if (name == shader->name) return shader;
  }
  return nullptr;
}

std::string pipeline_key(std::string_view shader, std::span<const uint32_t> specialization) {
  std::string key(shader);
  for (uint32_t value : specialization) key += "/" + std::to_string(value);
  return key;
}

}  // namespace

std::filesystem::path default_cache_dir() {
  if (const char* dir = std::getenv("VKMOE_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "vkmoe";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".cache" / "vkmoe";
  }
  return {};
}

PipelineRegistry::PipelineRegistry(const Device& device, std::filesystem::path cache_dir)
    : device_(device) {
  std::vector<char> initial;
  if (!cache_dir.empty()) {
    const DeviceInfo& info = device.info();
    char name[128];
    std::snprintf(name, sizeof name, "pipelines-%04x-%04x-%08x-", info.vendor_id, info.device_id,
                  info.driver_version);
    std::string file = name;
    for (uint8_t byte : info.pipeline_cache_uuid) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", byte);
      file += hex;
    }
    cache_file_ = cache_dir / (file + ".bin");
    std::ifstream in(cache_file_, std::ios::binary);
    if (in) initial.assign(std::istreambuf_iterator<char>(in), {});
  }
  VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = initial.size();
  info.pInitialData = initial.empty() ? nullptr : initial.data();
  // A stale or foreign cache file is not an error: the driver ignores data it cannot use.
  if (fn.vkCreatePipelineCache(device.handle(), &info, nullptr, &cache_) != VK_SUCCESS) {
    info.initialDataSize = 0;
    info.pInitialData = nullptr;
    check(fn.vkCreatePipelineCache(device.handle(), &info, nullptr, &cache_),
          "vkCreatePipelineCache");
  }
}

PipelineRegistry::~PipelineRegistry() {
  try {
    save();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "vkmoe: could not save the pipeline cache: %s\n", error.what());
  }
  VkDevice device = device_.handle();
  for (auto& [key, pipeline] : pipelines_) {
    fn.vkDestroyPipeline(device, pipeline->pipeline, nullptr);
    fn.vkDestroyPipelineLayout(device, pipeline->layout, nullptr);
  }
  for (auto& [count, layout] : set_layouts_)
    fn.vkDestroyDescriptorSetLayout(device, layout, nullptr);
  if (cache_ != VK_NULL_HANDLE) fn.vkDestroyPipelineCache(device, cache_, nullptr);
}

VkDescriptorSetLayout PipelineRegistry::set_layout_for(const KernelLayout& kernel) {
  const std::pair key{kernel.storage_buffers, kernel.texel_bindings};
  if (auto it = set_layouts_.find(key); it != set_layouts_.end()) return it->second;
  const uint32_t storage_buffers = kernel.storage_buffers;
  std::vector<VkDescriptorSetLayoutBinding> bindings(storage_buffers);
  for (uint32_t b = 0; b < storage_buffers; ++b) {
    bindings[b].binding = b;
    bindings[b].descriptorType = (kernel.texel_bindings >> b) & 1u
                                     ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                     : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[b].descriptorCount = 1;
    bindings[b].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  info.bindingCount = storage_buffers;
  info.pBindings = bindings.data();
  VkDescriptorSetLayout layout = VK_NULL_HANDLE;
  check(fn.vkCreateDescriptorSetLayout(device_.handle(), &info, nullptr, &layout),
        "vkCreateDescriptorSetLayout");
  set_layouts_[key] = layout;
  return layout;
}

const Pipeline& PipelineRegistry::get(std::string_view shader,
                                      std::span<const uint32_t> specialization,
                                      KernelLayout layout) {
  std::lock_guard lock(mutex_);
  const std::string key = pipeline_key(shader, specialization);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;

  const shaders::ShaderBinary* binary = find_shader(shader);
  if (!binary) throw Error("no shader variant named '" + std::string(shader) + "' was built");
  const DeviceInfo& info = device_.info();
  if (layout.push_constant_bytes > info.max_push_constants_size) {
    throw Error(
        "shader " + std::string(shader) + " needs " + std::to_string(layout.push_constant_bytes) +
        " bytes of push constants, device has " + std::to_string(info.max_push_constants_size));
  }

  if (layout.whole_subgroups != 0 &&
      (!info.fixed_compute_subgroups() || layout.whole_subgroups < info.min_subgroup_size ||
       layout.whole_subgroups > info.max_subgroup_size)) {
    throw Error("shader " + std::string(shader) + " needs whole subgroups of " +
                std::to_string(layout.whole_subgroups) +
                " invocations, which this device cannot fix");
  }

  auto pipeline = std::make_unique<Pipeline>();
  pipeline->name = binary->name;
  pipeline->interface = layout;
  pipeline->set_layout = set_layout_for(layout);

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, layout.push_constant_bytes};
  VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &pipeline->set_layout;
  layout_info.pushConstantRangeCount = layout.push_constant_bytes ? 1 : 0;
  layout_info.pPushConstantRanges = &push;
  check(fn.vkCreatePipelineLayout(device_.handle(), &layout_info, nullptr, &pipeline->layout),
        "vkCreatePipelineLayout");

  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = binary->word_count * sizeof(uint32_t);
  module_info.pCode = binary->words;
  VkShaderModule module = VK_NULL_HANDLE;
  check(fn.vkCreateShaderModule(device_.handle(), &module_info, nullptr, &module),
        "vkCreateShaderModule");

  std::vector<VkSpecializationMapEntry> entries(specialization.size());
  for (uint32_t i = 0; i < entries.size(); ++i) {
    entries[i] = {i, i * static_cast<uint32_t>(sizeof(uint32_t)), sizeof(uint32_t)};
  }
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = specialization.size_bytes();
  spec.pData = specialization.data();

  VkComputePipelineCreateInfo create{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  create.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  create.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  create.stage.module = module;
  create.stage.pName = "main";
  create.stage.pSpecializationInfo = specialization.empty() ? nullptr : &spec;
  VkPipelineShaderStageRequiredSubgroupSizeCreateInfo required_size{
      VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
  if (layout.whole_subgroups != 0 && info.min_subgroup_size != info.max_subgroup_size) {
    required_size.requiredSubgroupSize = layout.whole_subgroups;
    create.stage.pNext = &required_size;
    create.stage.flags = VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT;
  }
  create.layout = pipeline->layout;
  const VkResult result = fn.vkCreateComputePipelines(device_.handle(), cache_, 1, &create, nullptr,
                                                      &pipeline->pipeline);
  fn.vkDestroyShaderModule(device_.handle(), module, nullptr);
  if (result != VK_SUCCESS) {
    fn.vkDestroyPipelineLayout(device_.handle(), pipeline->layout, nullptr);
    check(result, ("vkCreateComputePipelines for " + key).c_str());
  }
  const Pipeline& stored = *pipeline;
  pipelines_.emplace(key, std::move(pipeline));
  return stored;
}

void PipelineRegistry::save() const {
  if (cache_file_.empty() || cache_ == VK_NULL_HANDLE) return;
  size_t size = 0;
  check(fn.vkGetPipelineCacheData(device_.handle(), cache_, &size, nullptr),
        "vkGetPipelineCacheData");
  std::vector<char> data(size);
  check(fn.vkGetPipelineCacheData(device_.handle(), cache_, &size, data.data()),
        "vkGetPipelineCacheData");
  std::error_code error;
  std::filesystem::create_directories(cache_file_.parent_path(), error);
  if (error) return;  // an unwritable cache directory only costs compile time
  const std::filesystem::path temporary =
      cache_file_.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out.write(data.data(), static_cast<std::streamsize>(size));
    if (!out) {
      std::filesystem::remove(temporary, error);
      return;
    }
  }
  std::filesystem::rename(temporary, cache_file_, error);
  if (error) std::filesystem::remove(temporary, error);
}

size_t PipelineRegistry::size() const {
  std::lock_guard lock(mutex_);
  return pipelines_.size();
}

}  // namespace vkmoe::vk
