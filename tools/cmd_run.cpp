// `vkmoe run -m MODEL (-p TEXT | --tokens 1,2,3) [-n N] [--temp T] [--top-k K] [--top-p P]
// [--seed S] [--ignore-eos]`: prefill the prompt, then generate up to N tokens one forward at a
// time, streaming the text to stdout (the prompt first, as llama.cpp's examples echo it), and
// end with llama.cpp-style timings on stderr. Sampling is engine/model/sampler.h, on the host.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/forward.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"
#include "engine/model/sampler.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "loaders/load_error.h"
#include "loaders/model_files.h"
#include "loaders/tokenizer.h"
#include "tools/model_loading.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe run -m MODEL (-p TEXT | --tokens 1,2,3) [-n N] [--temp T] [--top-k K] "
    "[--top-p P] [--seed S] [--ignore-eos]\n"
    "  defaults: -n 32 --temp 0.8 --top-k 40 --top-p 0.95, a random seed (printed); --temp 0 is "
    "greedy";
constexpr std::size_t kChunk = 256;  // prompt tokens per prefill forward, as `vkmoe logits`

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Options {
  std::string model, text;
  std::vector<uint32_t> tokens;
  bool have_tokens = false, ignore_eos = false;
  uint32_t n_predict = 32;
  model::SamplerOptions sampler;
  std::optional<uint64_t> seed;
};

// Token bytes to stdout as they come, holding back a UTF-8 sequence the last token left
// incomplete until the next token completes it; finish() writes whatever is left as it is.
// The bytes written are exactly the tokens' bytes, in order.
class Utf8Stream {
 public:
  void write(std::string_view bytes) {
    pending_ += bytes;
    const std::size_t n = complete_prefix(pending_);
    std::fwrite(pending_.data(), 1, n, stdout);
    std::fflush(stdout);
    pending_.erase(0, n);
  }
  void finish() {
    std::fwrite(pending_.data(), 1, pending_.size(), stdout);
    std::fflush(stdout);
    pending_.clear();
  }

 private:
  // Everything but a trailing lead byte whose continuation bytes have not all arrived yet.
  static std::size_t complete_prefix(std::string_view s) {
    for (std::size_t back = 1; back <= std::min<std::size_t>(4, s.size()); ++back) {
      const auto byte = static_cast<unsigned char>(s[s.size() - back]);
      if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
      const std::size_t length = (byte & 0xE0) == 0xC0   ? 2
                                 : (byte & 0xF0) == 0xE0 ? 3
                                 : (byte & 0xF8) == 0xF0 ? 4
                                                         : 1;
      return length > back ? s.size() - back : s.size();
    }
    return s.size();
  }
  std::string pending_;
};

bool parse_tokens(const std::string& list, std::vector<uint32_t>& out) {
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t end = std::min(list.find(',', at), list.size());
    uint32_t id = 0;
    const auto [ptr, ec] = std::from_chars(list.data() + at, list.data() + end, id);
    if (ec != std::errc() || ptr != list.data() + end) return false;
    out.push_back(id);
    at = end + 1;
  }
  return !out.empty();
}

// The config's eos_token_id(s); failing those, the tokenizer's usual end-of-text tokens.
std::vector<uint32_t> eos_ids(const ModelConfig& config, const Tokenizer& tokenizer) {
  std::vector<uint32_t> ids;
  for (const int64_t id : config.eos_token_ids) {
    if (id >= 0) ids.push_back(static_cast<uint32_t>(id));
  }
  if (!ids.empty()) return ids;
  for (const char* name : {"<|endoftext|>", "</s>", "<｜end▁of▁sentence｜>"}) {
    if (const auto id = tokenizer.token_to_id(name)) ids.push_back(*id);
  }
  return ids;
}

void print_timing(const char* what, double ms, std::size_t count, const char* unit) {
  const double per = count > 0 ? ms / static_cast<double>(count) : 0.0;
  const double rate = ms > 0 ? 1e3 * static_cast<double>(count) / ms : 0.0;
  std::fprintf(stderr,
               "vkmoe: %16s = %10.2f ms / %5zu %-6s (%8.2f ms per token, %9.2f tokens per "
               "second)\n",
               what, ms, count, unit, per, rate);
}

int run(const Options& o) {
  const Clock::time_point start = Clock::now();
  const ModelFiles files = open_model_with_weights(o.model);
  const Tokenizer tokenizer = open_model_tokenizer(files, {}, "run");
  std::vector<uint32_t> prompt = o.tokens;
  if (!o.have_tokens) {
    prompt = tokenizer.encode(o.text, SpecialTokens::kAdd);
    if (prompt.empty()) throw LoadError("-p: the text encodes to no tokens");
  }
  const std::vector<uint32_t> eos = eos_ids(files.config, tokenizer);

  model::SamplerOptions sampler_options = o.sampler;
  sampler_options.seed = o.seed ? *o.seed : std::random_device{}();
  model::Sampler sampler(sampler_options);
  std::fprintf(stderr, "vkmoe run: %zu prompt tokens, seed %llu\n", prompt.size(),
               static_cast<unsigned long long>(sampler_options.seed));

  vk::Context context;
  std::size_t generated = 0, eval_runs = 0;
  double load_ms = 0, prompt_ms = 0, eval_ms = 0, sample_ms = 0;
  {
    const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    model::KvCache cache(context, weights.config,
                         static_cast<uint32_t>(prompt.size() + o.n_predict));
    load_ms = ms_since(start);

    Utf8Stream out;
    for (const uint32_t id : prompt) {
      if (!tokenizer.is_special(id)) out.write(tokenizer.token_bytes(id));
    }

    Clock::time_point t = Clock::now();
    std::vector<float> logits;
    for (std::size_t at = 0; at < prompt.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, prompt.size() - at);
      logits = model::forward(context, weights, cache,
                              {std::span(prompt).subspan(at, n), static_cast<uint32_t>(at)});
    }
    prompt_ms = ms_since(t);

    auto position = static_cast<uint32_t>(prompt.size());
    while (generated < o.n_predict) {
      t = Clock::now();
      const uint32_t id = sampler.sample(logits);
      sample_ms += ms_since(t);
      if (!o.ignore_eos && std::find(eos.begin(), eos.end(), id) != eos.end()) break;
      if (!tokenizer.is_special(id)) out.write(tokenizer.token_bytes(id));
      if (++generated == o.n_predict) break;
      t = Clock::now();
      logits = model::forward(context, weights, cache, {std::span(&id, 1), position++});
      eval_ms += ms_since(t);
      ++eval_runs;
    }
    out.finish();
  }
  std::fprintf(stderr, "\n\nvkmoe: %16s = %10.2f ms\n", "load time", load_ms);
  print_timing("sample time", sample_ms, generated, "runs");
  print_timing("prompt eval time", prompt_ms, prompt.size(), "tokens");
  print_timing("eval time", eval_ms, eval_runs, "runs");
  std::fprintf(stderr, "vkmoe: %16s = %10.2f ms / %5zu tokens\n", "total time", ms_since(start),
               prompt.size() + eval_runs);
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe run: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }
  return 0;
}

template <typename T>
bool parse_number(const std::string& text, T& value) {
  try {
    std::size_t used = 0;
    if constexpr (std::is_floating_point_v<T>) {
      value = static_cast<T>(std::stod(text, &used));
    } else {
      if (text.starts_with('-')) return false;
      value = static_cast<T>(std::stoull(text, &used));
    }
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int run_run(std::span<const std::string> args) {
  Options o;
  bool have_text = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    bool ok = true;
    if ((a == "-m" || a == "--model") && has_value) {
      o.model = args[++i];
    } else if ((a == "-p" || a == "--prompt") && has_value) {
      o.text = args[++i];
      have_text = true;
    } else if (a == "--tokens" && has_value) {
      ok = parse_tokens(args[++i], o.tokens);
      o.have_tokens = true;
    } else if ((a == "-n" || a == "--n-predict") && has_value) {
      ok = parse_number(args[++i], o.n_predict);
    } else if (a == "--temp" && has_value) {
      ok = parse_number(args[++i], o.sampler.temperature);
    } else if (a == "--top-k" && has_value) {
      ok = parse_number(args[++i], o.sampler.top_k);
    } else if (a == "--top-p" && has_value) {
      ok = parse_number(args[++i], o.sampler.top_p);
    } else if (a == "--seed" && has_value) {
      uint64_t seed = 0;
      ok = parse_number(args[++i], seed);
      o.seed = seed;
    } else if (a == "--ignore-eos") {
      o.ignore_eos = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s\n", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "vkmoe run: unexpected argument '%s'\n%s\n", a.c_str(), kUsage);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "vkmoe run: %s %s: not a valid value\n", a.c_str(), args[i].c_str());
      return 2;
    }
  }
  if (o.model.empty() || o.have_tokens == have_text) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  try {
    return run(o);
  } catch (const LoadError& e) {
    std::fprintf(stderr, "vkmoe run: %s\n", e.what());
    return 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "vkmoe run: %s\n", e.what());
    return 1;
  }
}

}  // namespace vkmoe::cli
