#include "engine/vk/instance.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/vk/error.h"

namespace vkmoe::vk {

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool has_layer(const char* name) {
  uint32_t count = 0;
  fn.vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  fn.vkEnumerateInstanceLayerProperties(&count, layers.data());
  for (const auto& layer : layers) {
    if (std::strcmp(layer.layerName, name) == 0) return true;
  }
  return false;
}

bool has_instance_extension(const char* name) {
  uint32_t count = 0;
  fn.vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> extensions(count);
  fn.vkEnumerateInstanceExtensionProperties(nullptr, &count, extensions.data());
  for (const auto& extension : extensions) {
    if (std::strcmp(extension.extensionName, name) == 0) return true;
  }
  return false;
}

}  // namespace

bool validation_requested_by_environment() {
  const char* value = std::getenv("VKMOE_VALIDATION");
  if (!value || *value == '\0') {
#ifdef VKMOE_VALIDATION_DEFAULT
    return true;  // built with -DVKMOE_VALIDATION=ON
#else
    return false;
#endif
  }
  return std::strcmp(value, "0") != 0;
}

Instance::Instance(InstanceOptions options) {
  load_library();
  validation_ =
      options.validation < 0 ? validation_requested_by_environment() : options.validation != 0;

  uint32_t loader_version = VK_API_VERSION_1_0;
  fn.vkEnumerateInstanceVersion(&loader_version);
  if (loader_version < VK_API_VERSION_1_2) {
    throw Error(
        "the Vulkan loader supports API " + std::to_string(VK_API_VERSION_MAJOR(loader_version)) +
        "." + std::to_string(VK_API_VERSION_MINOR(loader_version)) + ", vkmoe needs 1.2 or newer");
  }
  api_version_ = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;

  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  if (validation_) {
    if (!has_layer(kValidationLayer)) {
      throw Error(
          "VKMOE_VALIDATION=1 but the Khronos validation layer is not installed "
          "(apt-get install vulkan-validationlayers)");
    }
    layers.push_back(kValidationLayer);
    if (!has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      throw Error("VKMOE_VALIDATION=1 but VK_EXT_debug_utils is not available");
    }
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  // Some loaders hide portability drivers unless asked; lavapipe is not one, but MoltenVK is.
  VkInstanceCreateFlags flags = 0;
  if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkmoe";
  app.pEngineName = "vkmoe";
  app.apiVersion = api_version_;

  VkDebugUtilsMessengerCreateInfoEXT messenger_info{
      VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger_info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger_info.pfnUserCallback = &Instance::on_message;
  messenger_info.pUserData = this;

  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  // Chained so that messages from vkCreateInstance itself are caught too.
  if (validation_) info.pNext = &messenger_info;

  VkResult result = fn.vkCreateInstance(&info, nullptr, &instance_);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER) {
    throw Error(
        "no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); install one, "
        "e.g. `apt-get install mesa-vulkan-drivers` for the lavapipe CPU driver");
  }
  check(result, "vkCreateInstance");
  load_instance_functions(instance_);

  if (validation_) {
    if (!fn.vkCreateDebugUtilsMessengerEXT) throw Error("vkCreateDebugUtilsMessengerEXT missing");
    check(fn.vkCreateDebugUtilsMessengerEXT(instance_, &messenger_info, nullptr, &messenger_),
          "vkCreateDebugUtilsMessengerEXT");
  }
}

Instance::~Instance() {
  if (messenger_ != VK_NULL_HANDLE)
    fn.vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
  if (instance_ != VK_NULL_HANDLE) fn.vkDestroyInstance(instance_, nullptr);
}

VkBool32 Instance::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                              VkDebugUtilsMessageTypeFlagsEXT,
                              const VkDebugUtilsMessengerCallbackDataEXT* data, void* self) {
  auto* instance = static_cast<Instance*>(self);
  std::string text =
      (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error: " : "warning: ";
  text += data && data->pMessage ? data->pMessage : "(no message)";
  std::fprintf(stderr, "vkmoe validation %s\n", text.c_str());
  std::lock_guard lock(instance->messages_mutex_);
  instance->messages_.push_back(std::move(text));
  return VK_FALSE;
}

std::vector<std::string> Instance::messages() const {
  std::lock_guard lock(messages_mutex_);
  return messages_;
}

size_t Instance::message_count() const {
  std::lock_guard lock(messages_mutex_);
  return messages_.size();
}

std::vector<VkPhysicalDevice> Instance::physical_devices() const {
  uint32_t count = 0;
  check(fn.vkEnumeratePhysicalDevices(instance_, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(count);
  check(fn.vkEnumeratePhysicalDevices(instance_, &count, devices.data()),
        "vkEnumeratePhysicalDevices");
  devices.resize(count);
  return devices;
}

}  // namespace vkmoe::vk
