// `vkmoe plan -m MODEL_OR_CONFIG [--rank R] [--layers all|q1|q2|q3|q4|A-B]`: what a
// Bayesian-MoE fit of the model holds and needs, from the config alone (no weights are read).
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>

#include "engine/bayes/fit_plan.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
#include "loaders/hf_config.h"
#include "loaders/model_files.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe plan -m MODEL_OR_CONFIG [--rank R] [--layers all|q1|q2|q3|q4|A-B]\n"
    "  MODEL_OR_CONFIG: a Hugging Face folder (weights not needed), a config.json or a .gguf file";

// 4152360960 → "4,152,360,960"
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return out;
}

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

ModelConfig load_config(const std::filesystem::path& path) {
  if (path.extension() == ".json") return load_hf_config(path);
  return open_model_files(path).config;
}

void print_plan(const std::string& model, const ModelConfig& c, const bayes::FitPlan& p) {
  std::printf("model:           %s (%s, fingerprint %s)\n", model.c_str(),
              std::string(arch_name(c.arch)).c_str(),
              bayes::fingerprint_hex(bayes::model_fingerprint(c)).c_str());
  std::printf("layers treated:  %zu of %lld MoE layers (%s)\n", p.layers.size(),
              static_cast<long long>(c.num_moe_layers()), bayes::describe_layers(p.layers).c_str());
  std::printf("experts:         %lld (%lld per layer)\n", static_cast<long long>(p.experts),
              static_cast<long long>(p.experts_per_layer));
  std::printf("down_proj:       %lld x %lld per expert, %s parameters covered\n",
              static_cast<long long>(p.h), static_cast<long long>(p.i), grouped(p.params).c_str());
  std::printf("rank:            %lld (G: %lld, A: %lld)\n", static_cast<long long>(p.rank),
              static_cast<long long>(p.rank_g), static_cast<long long>(p.rank_a));
  std::printf("factor entries:  %s (E*(H+I)*r eigenvectors + E*2r eigenvalues + E counts)\n",
              grouped(p.factor_entries).c_str());
  std::printf("factor memory:   %.1f MiB (f32)\n", mib(p.factor_bytes));
  std::printf("posterior file:  %s bytes (%.1f MiB)\n", grouped(p.file_bytes).c_str(),
              mib(p.file_bytes));
  std::printf("peak per expert: %.1f MiB (H^2+I^2 doubles of one expert's dense factors)\n",
              mib(p.expert_dense_bytes));
  std::printf("merge peak:      %.1f MiB (dense factors + 3*max(H,I)^2 doubles while merging)\n",
              mib(p.merge_peak_bytes));
  std::printf("device (KFAC):   %.1f MiB (gathered rows + Grams of %lld experts per group, f32)\n",
              mib(p.kfac_device_bytes), static_cast<long long>(p.gram_group));
}

bool parse_rank(const std::string& v, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size() && out >= 1 && out <= 65536;
}

}  // namespace

int run_plan(std::span<const std::string> args) {
  std::string model, layers = "all";
  std::int64_t rank = 32;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-m" || a == "--model") && i + 1 < args.size()) {
      model = args[++i];
    } else if (a == "--rank" && i + 1 < args.size()) {
      if (!parse_rank(args[++i], rank)) {
        std::fprintf(stderr, "vkmoe plan: --rank %s: expected a whole number from 1 to 65536\n",
                     args[i].c_str());
        return 2;
      }
    } else if (a == "--layers" && i + 1 < args.size()) {
      layers = args[++i];
    } else if (a == "-h" || a == "--help") {
      std::printf("%s\n", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "vkmoe plan: unexpected argument '%s'\n%s\n", a.c_str(), kUsage);
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  const ModelConfig c = load_config(model);  // errors reach main, which names the command
  print_plan(model, c, bayes::plan_fit(c, bayes::select_layers(layers, c), rank));
  return 0;
}

}  // namespace vkmoe::cli
