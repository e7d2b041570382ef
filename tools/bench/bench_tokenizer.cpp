// `vkmoe bench tokenizer`: encode throughput (MB/s, tokens/s) of a tokenizer.json on a text.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "engine/vk/error.h"
#include "loaders/tokenizer.h"
#include "loaders/tokenizer_benchmark.h"
#include "tools/command.h"

namespace vkmoe::cli {

namespace {

// A .jsonl file of JSON strings (the tokenizer comparison's test strings) is read as those
// strings joined by newlines; any other file as plain UTF-8 text.
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open the text file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (!path.ends_with(".jsonl")) return text;
  std::string joined;
  std::istringstream lines(text);
  std::string line;
  for (size_t number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    const nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    if (!value.is_string()) {
      throw Error(path + ":" + std::to_string(number) + ": expected a JSON string per line");
    }
    joined += value.get<std::string>();
    joined += '\n';
  }
  return joined;
}

}  // namespace

int run_bench_tokenizer(std::span<const std::string> args) {
  std::string tokenizer_path = "assets/tokenizer/tokenizer.json";
  std::string text_path = "tests/tokenizer_npm/strings.jsonl";
  double seconds = 1.0;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--tokenizer" && i + 1 < args.size()) {
      tokenizer_path = args[++i];
    } else if (args[i] == "-m" && i + 1 < args.size()) {
      tokenizer_path = args[++i] + "/tokenizer.json";
    } else if (args[i] == "--text" && i + 1 < args.size()) {
      text_path = args[++i];
    } else if (args[i] == "--seconds" && i + 1 < args.size()) {
      seconds = std::stod(args[++i]);
    } else if (args[i] == "--json") {
      json = true;
    } else {
      throw Error("bench tokenizer: unknown option '" + args[i] +
                  "' (options: --tokenizer FILE | -m MODEL_DIR, --text FILE, --seconds S, --json)");
    }
  }
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_path);
  const std::string text = read_text(text_path);
  const TokenizerThroughput rate = measure_tokenizer_throughput(tokenizer, text, seconds);
  if (json) {
    nlohmann::json out = {{"tokenizer", tokenizer_path},
                          {"text", text_path},
                          {"bytes", rate.bytes},
                          {"tokens", rate.tokens},
                          {"seconds", rate.seconds},
                          {"mb_per_s", rate.megabytes_per_second},
                          {"tokens_per_s", rate.tokens_per_second}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("tokenizer %s on %s (%zu bytes, one thread)\n", tokenizer_path.c_str(),
                text_path.c_str(), text.size());
    std::printf("encode: %.1f MB/s, %.2f M tokens/s (%d passes, %.2f s)\n",
                rate.megabytes_per_second, rate.tokens_per_second / 1e6, rate.repetitions,
                rate.seconds);
  }
  return 0;
}

}  // namespace vkmoe::cli
