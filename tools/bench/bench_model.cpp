// `vkmoe bench -m MODEL [-p 128] [-n 32] [-r 5] [--json]`: whole-model throughput, as
// llama-bench reports it. `ppP`: one prefill of P random token ids into an empty cache;
// `tgN`: N forwards of one token each, from an empty cache. Each test runs once to warm up
// (pipelines, caches), then R times; rows give the mean ± standard deviation of tokens/s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/model/forward.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "loaders/model_files.h"

namespace vkmoe::cli {

namespace {

constexpr std::size_t kChunk = 256;  // prompt tokens per forward, as `vkmoe logits` and `run`

struct Test {
  std::string name;
  uint32_t n_prompt = 0, n_gen = 0;
  std::vector<double> seconds;  // one per repetition

  uint32_t tokens() const { return n_prompt + n_gen; }
  std::vector<double> rates() const {
    std::vector<double> r;
    for (const double s : seconds) r.push_back(tokens() / s);
    return r;
  }
};

double mean(const std::vector<double>& x) {
  double sum = 0;
  for (const double v : x) sum += v;
  return x.empty() ? 0.0 : sum / static_cast<double>(x.size());
}

// The sample standard deviation (n − 1), 0 for fewer than two samples, as llama-bench.
double stddev(const std::vector<double>& x) {
  if (x.size() < 2) return 0.0;
  const double m = mean(x);
  double sum = 0;
  for (const double v : x) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(x.size() - 1));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double time_prefill(vk::Context& context, const model::ModelWeights& weights, model::KvCache& cache,
                    const std::vector<uint32_t>& tokens) {
  cache.set_length(0);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < tokens.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, tokens.size() - at);
    model::forward(context, weights, cache,
                   {std::span(tokens).subspan(at, n), static_cast<uint32_t>(at)});
  }
  return seconds_since(start);
}

double time_decode(vk::Context& context, const model::ModelWeights& weights, model::KvCache& cache,
                   const std::vector<uint32_t>& tokens) {
  cache.set_length(0);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    model::forward(context, weights, cache,
                   {std::span(tokens).subspan(i, 1), static_cast<uint32_t>(i)});
  }
  return seconds_since(start);
}

uint32_t parse_count(const std::string& option, const std::string& value) {
  std::size_t used = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.starts_with('-') || n > 1u << 20) {
    throw Error("bench -m: " + option + " " + value + ": expected a count");
  }
  return static_cast<uint32_t>(n);
}

}  // namespace

int run_bench_model(std::span<const std::string> args) {
  std::string model_path;
  uint32_t n_prompt = 128, n_gen = 32, repetitions = 5;
  bool json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if ((a == "-m" || a == "--model") && has_value) {
      model_path = args[++i];
    } else if ((a == "-p" || a == "--n-prompt") && has_value) {
      n_prompt = parse_count(a, args[++i]);
    } else if ((a == "-n" || a == "--n-gen") && has_value) {
      n_gen = parse_count(a, args[++i]);
    } else if ((a == "-r" || a == "--repetitions") && has_value) {
      repetitions = parse_count(a, args[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      throw Error("bench -m: unexpected argument '" + a +
                  "' (usage: vkmoe bench -m MODEL [-p 128] [-n 32] [-r 5] [--json])");
    }
  }
  if (model_path.empty() || repetitions == 0 || n_prompt + n_gen == 0) {
    throw Error("usage: vkmoe bench -m MODEL [-p 128] [-n 32] [-r 5] [--json] (r ≥ 1, p + n ≥ 1)");
  }
  const ModelFiles files = open_model_files(model_path);
  if (!files.weights_present()) {
    throw Error(model_path + ": the weights are not present (a config-only copy)");
  }

  vk::Context context;
  std::vector<Test> tests;
  uint64_t model_bytes = 0;
  {
    const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    model_bytes = weights.device_bytes;
    model::KvCache cache(context, weights.config, std::max(n_prompt, n_gen));
    // Random ids, as llama-bench: the rates do not depend on which tokens they are.
    std::mt19937_64 rng(1234);
    std::uniform_int_distribution<uint32_t> token(
        0, static_cast<uint32_t>(weights.config.vocab_size - 1));
    const auto random_tokens = [&](uint32_t n) {
      std::vector<uint32_t> ids(n);
      for (uint32_t& id : ids) id = token(rng);
      return ids;
    };
    if (n_prompt > 0) {
      Test t{"pp" + std::to_string(n_prompt), n_prompt, 0, {}};
      const std::vector<uint32_t> ids = random_tokens(n_prompt);
      time_prefill(context, weights, cache, ids);  // warm-up
      for (uint32_t r = 0; r < repetitions; ++r) {
        t.seconds.push_back(time_prefill(context, weights, cache, ids));
      }
      tests.push_back(t);
    }
    if (n_gen > 0) {
      Test t{"tg" + std::to_string(n_gen), 0, n_gen, {}};
      const std::vector<uint32_t> ids = random_tokens(n_gen);
      time_decode(context, weights, cache, ids);  // warm-up
      for (uint32_t r = 0; r < repetitions; ++r) {
        t.seconds.push_back(time_decode(context, weights, cache, ids));
      }
      tests.push_back(t);
    }
  }

  const std::string device = context.info().name;
  const double size_mib = static_cast<double>(model_bytes) / (1024.0 * 1024.0);
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Test& t : tests) {
      std::vector<double> ns;
      for (const double s : t.seconds) ns.push_back(s * 1e9);
      rows.push_back({{"model", model_path},
                      {"model_size", model_bytes},
                      {"device", device},
                      {"test", t.name},
                      {"n_prompt", t.n_prompt},
                      {"n_gen", t.n_gen},
                      {"repetitions", repetitions},
                      {"avg_ns", mean(ns)},
                      {"stddev_ns", stddev(ns)},
                      {"avg_ts", mean(t.rates())},
                      {"stddev_ts", stddev(t.rates())},
                      {"samples_ns", ns},
                      {"samples_ts", t.rates()}});
    }
    std::printf("%s\n", rows.dump(2).c_str());
  } else {
    std::printf("| %-40s | %10s | %-32s | %8s | %20s |\n", "model", "size", "device", "test",
                "t/s");
    std::printf("| %s | %s: | %s | %s: | %s: |\n", std::string(40, '-').c_str(),
                std::string(9, '-').c_str(), std::string(32, '-').c_str(),
                std::string(7, '-').c_str(), std::string(19, '-').c_str());
    for (const Test& t : tests) {
      const std::vector<double> rates = t.rates();
      char rate[64];
      std::snprintf(rate, sizeof rate, "%.2f ± %.2f", mean(rates), stddev(rates));
      char size[32];
      std::snprintf(size, sizeof size, "%.2f MiB", size_mib);
      // "±" is two bytes wide in UTF-8 and one column on screen.
      std::printf("| %-40.40s | %10s | %-32.32s | %8s | %21s |\n", model_path.c_str(), size,
                  device.c_str(), t.name.c_str(), rate);
    }
  }
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe bench: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }
  return 0;
}

}  // namespace vkmoe::cli
