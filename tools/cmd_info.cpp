// `vkmoe info -m MODEL [--ctx N]`: what a model is and what a run of it needs, from the config
// and the file headers only (no weights are read, so this takes milliseconds on any size).
#include <charconv>
#include <cstdio>
#include <map>
#include <span>
#include <string>

#include "loaders/load_error.h"
#include "loaders/model_files.h"
#include "loaders/param_count.h"
#include "loaders/run_memory.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe info -m MODEL [--ctx N]   (MODEL: a Hugging Face folder or a .gguf file)";

std::string bytes_string(std::uint64_t n) {
  char buf[64];
  const auto d = static_cast<double>(n);
  if (d >= 1024.0 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", d / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", d / (1024.0 * 1024));
  }
  return buf;
}

std::string billions(std::uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1fB", static_cast<double>(n) / 1e9);
  return buf;
}

void print_info(const ModelFiles& m, const RunMemoryOptions& opt) {
  const ModelConfig& c = m.config;
  const ParamCount p = count_params(c);

  // weight bytes and dtypes: from the tensors when present, else from the index or the config
  std::uint64_t weight_bytes = 0;
  std::string dtypes;
  std::string size_note;
  if (m.tensors) {
    std::map<std::string_view, std::pair<int, std::uint64_t>> by_type;
    for (const ResolvedTensor& t : m.tensors->tensors) {
      auto& e = by_type[dtype_name(t.view->dtype)];
      e.first += 1;
      e.second += t.view->bytes.size();
    }
    for (const auto& [name, e] : by_type) {
      if (!dtypes.empty()) dtypes += ", ";
      dtypes += std::string(name) + " (" + std::to_string(e.first) + " tensors, " +
                bytes_string(e.second) + ")";
    }
    weight_bytes = m.tensors->weight_bytes();
  } else {
    dtypes = std::string(dtype_name(c.dtype)) + " (from config.json)";
    if (m.index && m.index->total_size) {
      weight_bytes = *m.index->total_size;
      size_note = " (metadata.total_size; weights not present)";
    } else {
      weight_bytes = p.total * static_cast<std::uint64_t>(dtype_block_bytes(c.dtype));
      size_note = " (parameters × dtype; weights not present)";
    }
  }

  const std::int64_t dense = c.num_layers - c.num_moe_layers();
  std::printf("model:        %s\n", m.path.string().c_str());
  std::printf("format:       %s\n",
              m.format == ModelFormat::kGguf ? "GGUF" : "Hugging Face safetensors");
  std::printf("architecture: %s\n", std::string(arch_name(c.arch)).c_str());
  std::printf("layers:       %lld (%lld MoE, %lld dense)\n", static_cast<long long>(c.num_layers),
              static_cast<long long>(c.num_moe_layers()), static_cast<long long>(dense));
  std::printf("hidden:       %lld, %lld heads (%lld key/value, head dim %lld), vocab %lld\n",
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.num_heads),
              static_cast<long long>(c.num_kv_heads), static_cast<long long>(c.head_dim),
              static_cast<long long>(c.vocab_size));
  if (c.num_moe_layers() > 0) {
    std::printf("experts:      %lld routed, top-%lld, width %lld",
                static_cast<long long>(c.num_experts), static_cast<long long>(c.experts_per_token),
                static_cast<long long>(c.moe_intermediate_size));
    if (c.shared_intermediate_size > 0) {
      std::printf("; shared: %lld, width %lld%s", static_cast<long long>(c.num_shared_experts),
                  static_cast<long long>(c.shared_intermediate_size),
                  c.shared_expert_gated ? " (sigmoid-gated)" : "");
    }
    std::printf("\n");
  }
  std::printf("parameters:   %s total, %s active per token (%llu / %llu)\n",
              billions(p.total).c_str(), billions(p.active).c_str(),
              static_cast<unsigned long long>(p.total), static_cast<unsigned long long>(p.active));
  std::printf("dtypes:       %s\n", dtypes.c_str());
  std::printf("file size:    %s%s\n",
              bytes_string(m.weights_present() ? m.file_bytes() : weight_bytes).c_str(),
              size_note.c_str());
  const RunMemory mem = estimate_run_memory(c, weight_bytes, opt);
  std::printf(
      "run memory:   %s = weights %s + KV cache %s (%lld tokens, %s) + scratch %s (%lld-token "
      "batches)\n",
      bytes_string(mem.total()).c_str(), bytes_string(mem.weights).c_str(),
      bytes_string(mem.kv_cache).c_str(), static_cast<long long>(opt.context),
      std::string(dtype_name(opt.kv_dtype)).c_str(), bytes_string(mem.scratch).c_str(),
      static_cast<long long>(opt.batch));
}

}  // namespace

int run_info(std::span<const std::string> args) {
  std::string model;
  RunMemoryOptions opt;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-m" || a == "--model") && i + 1 < args.size()) {
      model = args[++i];
    } else if (a == "--ctx" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > (std::int64_t{1} << 24)) {
        std::fprintf(stderr,
                     "vkmoe info: --ctx %s: expected a number of tokens from 1 to 16777216\n",
                     v.c_str());
        return 2;
      }
      opt.context = n;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s\n", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "vkmoe info: unexpected argument '%s'\n%s\n", a.c_str(), kUsage);
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  try {
    print_info(open_model_files(model), opt);
  } catch (const LoadError& e) {
    std::fprintf(stderr, "vkmoe info: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vkmoe::cli
