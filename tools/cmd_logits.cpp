// `vkmoe logits -m MODEL (--tokens 1,2,3 | -p TEXT) [--out FILE.npy] [--all-positions]`: one
// forward over a prompt; the logits of the last position (or of every position) as float32
// .npy [positions, vocab] — the interface of tests/reference/moe_reference.py — or, without
// --out, the top tokens of each position on stdout.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "engine/model/forward.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"
#include "loaders/load_error.h"
#include "loaders/model_files.h"
#include "loaders/tokenizer.h"
#include "tools/model_loading.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe logits -m MODEL (--tokens 1,2,3 | -p TEXT) [--out FILE.npy] [--all-positions]";
// Prompt tokens per forward: bounds the activations held at once.
constexpr std::size_t kChunk = 256;

struct Options {
  std::string model, text, out;
  std::vector<uint32_t> tokens;
  bool have_tokens = false, all_positions = false;
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

// NumPy format 1.0: magic, header length, a dict padded so the data starts 64-byte aligned.
void write_npy(const std::filesystem::path& path, std::span<const float> data, std::size_t rows,
               std::size_t cols) {
  static_assert(std::endian::native == std::endian::little, "the .npy is written as '<f4'");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  // Written beside the target and renamed, so a reader never sees half a file.
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    const auto len = static_cast<uint16_t>(header.size());
    const char lead[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    f.write(lead, 8);
    f.write(len_bytes, 2);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size_bytes()));
    if (!f.flush()) {
      std::filesystem::remove(tmp);
      throw LoadError(tmp.string() + ": cannot write the logits");
    }
  }
  std::filesystem::rename(tmp, path);
}

void print_top(std::span<const float> logits, std::size_t rows, std::size_t vocab,
               std::size_t first_position, const Tokenizer* tokenizer) {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::span<const float> row = logits.subspan(r * vocab, vocab);
    std::vector<uint32_t> ids(vocab);
    std::iota(ids.begin(), ids.end(), 0u);
    const std::size_t k = std::min<std::size_t>(5, vocab);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                      [&](uint32_t a, uint32_t b) { return row[a] > row[b]; });
    std::printf("position %zu:", first_position + r);
    for (std::size_t j = 0; j < k; ++j) {
      std::printf(" %u (%.4f", ids[j], static_cast<double>(row[ids[j]]));
      if (tokenizer != nullptr) {
        const uint32_t one[] = {ids[j]};
        std::printf(" \"%s\"", tokenizer->decode(one).c_str());
      }
      std::printf(")");
    }
    std::printf("\n");
  }
}

int run(const Options& o) {
  const ModelFiles files = open_model_files(o.model);
  if (!files.weights_present()) {
    throw LoadError(o.model + ": the weights are not present (a config-only copy)");
  }
  // The tokenizer encodes -p and spells the top tokens; with --tokens it is optional.
  std::optional<Tokenizer> tokenizer;
  if (o.have_tokens) {
    try {
      tokenizer = model_tokenizer(files, {});
    } catch (const LoadError&) {
    }
  } else {
    tokenizer = open_model_tokenizer(files, {}, "-p");
  }
  std::vector<uint32_t> tokens = o.tokens;
  if (!o.have_tokens) {
    tokens = tokenizer->encode(o.text, SpecialTokens::kAdd);
    if (tokens.empty()) throw LoadError("-p: the text encodes to no tokens");
  }

  vk::Context context;
  {
    const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    if (weights.decoded_on_host) {
      std::fprintf(stderr,
                   "vkmoe logits: note: quantised weights were decoded to f32 on the host "
                   "(mixed types, or a quant the GEMM kernels do not read)\n");
    }
    model::KvCache cache(context, weights.config, static_cast<uint32_t>(tokens.size()));
    const auto vocab = static_cast<std::size_t>(weights.config.vocab_size);
    std::vector<float> logits;
    for (std::size_t at = 0; at < tokens.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, tokens.size() - at);
      const bool last_chunk = at + n == tokens.size();
      if (!o.all_positions && !last_chunk) {
        model::forward(context, weights, cache,
                       {std::span(tokens).subspan(at, n), static_cast<uint32_t>(at)});
        continue;
      }
      const std::vector<float> part =
          model::forward(context, weights, cache,
                         {std::span(tokens).subspan(at, n), static_cast<uint32_t>(at),
                          o.all_positions ? model::LogitsFor::kAll : model::LogitsFor::kLast});
      logits.insert(logits.end(), part.begin(), part.end());
    }
    const std::size_t rows = logits.size() / vocab;
    if (!o.out.empty()) {
      write_npy(o.out, logits, rows, vocab);
    } else {
      print_top(logits, rows, vocab, tokens.size() - rows, tokenizer ? &*tokenizer : nullptr);
    }
  }
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe logits: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }
  return 0;
}

}  // namespace

int run_logits(std::span<const std::string> args) {
  Options o;
  bool have_text = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if ((a == "-m" || a == "--model") && has_value) {
      o.model = args[++i];
    } else if (a == "--tokens" && has_value) {
      if (!parse_tokens(args[++i], o.tokens)) {
        std::fprintf(stderr, "vkmoe logits: --tokens %s: expected ids like 1,2,3\n",
                     args[i].c_str());
        return 2;
      }
      o.have_tokens = true;
    } else if ((a == "-p" || a == "--prompt") && has_value) {
      o.text = args[++i];
      have_text = true;
    } else if (a == "--out" && has_value) {
      o.out = args[++i];
    } else if (a == "--all-positions") {
      o.all_positions = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s\n", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "vkmoe logits: unexpected argument '%s'\n%s\n", a.c_str(), kUsage);
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
    std::fprintf(stderr, "vkmoe logits: %s\n", e.what());
    return 1;
  }
}

}  // namespace vkmoe::cli
