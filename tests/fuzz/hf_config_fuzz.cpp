// libFuzzer: config.json text (and the same text as a shard index), then the parameter count,
// tensor list and memory estimate built from the config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loaders/checkpoint.h"
#include "loaders/hf_config.h"
#include "loaders/load_error.h"
#include "loaders/model_description.h"
#include "loaders/param_count.h"
#include "loaders/run_memory.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)vkmoe::parse_shard_index(text, "fuzz.index.json");
  } catch (const vkmoe::LoadError&) {
  }
  try {
    const vkmoe::ModelConfig c = vkmoe::parse_hf_config(text, "fuzz.config.json");
    const vkmoe::ParamCount p = vkmoe::count_params(c);
    (void)vkmoe::estimate_run_memory(c, p.total * 2);
    (void)vkmoe::describe_tensors(c, vkmoe::ExpertLayout::kFused);
  } catch (const vkmoe::LoadError&) {
  }
  return 0;
}
