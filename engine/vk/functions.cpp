#include "engine/vk/functions.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::vk {

Functions fn;

namespace {

std::mutex g_load_mutex;
void* g_library = nullptr;

template <typename Pfn>
void resolve_required(Pfn& slot, PFN_vkVoidFunction address, const char* name) {
  if (!address) throw Error(std::string("Vulkan loader has no entry point ") + name);
  slot = reinterpret_cast<Pfn>(address);
}

}  // namespace

void load_library() {
  std::lock_guard lock(g_load_mutex);
  const char* override_path = std::getenv("VKMOE_VULKAN_LIBRARY");
  const std::string path = override_path && *override_path ? override_path : "libvulkan.so.1";
  if (!g_library || override_path) {
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char* why = dlerror();
      throw Error("cannot load the Vulkan loader '" + path + "': " + (why ? why : "unknown") +
                  " (install the Vulkan loader, e.g. `apt-get install libvulkan1`, and a driver "
                  "such as mesa-vulkan-drivers)");
    }
    auto get = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(library, "vkGetInstanceProcAddr"));
    if (!get) {
      dlclose(library);
      throw Error("'" + path + "' is not a Vulkan loader: it has no vkGetInstanceProcAddr");
    }
    g_library = library;
    fn.vkGetInstanceProcAddr = get;
  }
#define VKMOE_LOAD(name) resolve_required(fn.name, fn.vkGetInstanceProcAddr(nullptr, #name), #name);
  VKMOE_GLOBAL_FUNCTIONS(VKMOE_LOAD)
#undef VKMOE_LOAD
}

void load_instance_functions(VkInstance instance) {
#define VKMOE_LOAD(name) \
  resolve_required(fn.name, fn.vkGetInstanceProcAddr(instance, #name), #name);
  VKMOE_INSTANCE_FUNCTIONS(VKMOE_LOAD)
#undef VKMOE_LOAD
#define VKMOE_LOAD_OPTIONAL(name) \
  fn.name = reinterpret_cast<PFN_##name>(fn.vkGetInstanceProcAddr(instance, #name));
  VKMOE_DEBUG_FUNCTIONS(VKMOE_LOAD_OPTIONAL)
  VKMOE_EXTENSION_INSTANCE_FUNCTIONS(VKMOE_LOAD_OPTIONAL)
#undef VKMOE_LOAD_OPTIONAL
}

void load_device_functions(VkDevice device) {
#define VKMOE_LOAD(name) resolve_required(fn.name, fn.vkGetDeviceProcAddr(device, #name), #name);
  VKMOE_DEVICE_FUNCTIONS(VKMOE_LOAD)
#undef VKMOE_LOAD
}

}  // namespace vkmoe::vk
