// `vkmoe score -m MODEL --data FILE.jsonl --task arc|obqa|boolq|winogrande|mmlu
// [--scoring labels|continuation] [--limit N] [--json] [--out PREDICTIONS.jsonl]
// [--tokenizer tokenizer.json]`: scores a multiple-choice data set with the plain model and
// prints N, accuracy, ECE (15 bins), NLL and Brier. Every item is tokenized (and checked) before
// the model is loaded, so a bad label or an unlabelled item fails in a second, not mid-run.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/eval/choice_tokens.h"
#include "engine/eval/metrics.h"
#include "engine/eval/multiple_choice.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"
#include "loaders/dataset.h"
#include "loaders/load_error.h"
#include "tools/command_options.h"
#include "tools/model_loading.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe score -m MODEL --data FILE.jsonl --task arc|obqa|boolq|winogrande|mmlu\n"
    "                   [--scoring labels|continuation] [--limit N] [--json] "
    "[--out PREDICTIONS.jsonl]\n"
    "                   [--tokenizer tokenizer.json]   (a GGUF model needs --tokenizer)";

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string model, data, task, out, tokenizer;
  std::string scoring = "labels";
  std::size_t limit = 0;  // 0: every item
  bool as_json = false;
};

json metrics_json(const Options& o, DatasetFormat format, const eval::ClassificationMetrics& m) {
  json bins = json::array();
  for (const eval::ReliabilityBin& b : m.bins) {
    bins.push_back({{"lower", b.lower},
                    {"upper", b.upper},
                    {"count", b.count},
                    {"confidence", b.mean_confidence},
                    {"accuracy", b.accuracy}});
  }
  return {{"model", o.model},          {"task", dataset_format_name(format)},
          {"scoring", o.scoring},      {"n", m.examples},
          {"accuracy", m.accuracy},    {"ece", m.ece},
          {"ece_bins", m.bins.size()}, {"nll", m.nll},
          {"brier", m.brier},          {"reliability", bins}};
}

// One line per item: what was scored (token ids) and what came out. Written beside the target
// and renamed, so a reader never sees half a file.
void write_predictions(const std::filesystem::path& path,
                       const std::vector<eval::TokenizedItem>& inputs,
                       const std::vector<eval::ScoredItem>& scored) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw LoadError(tmp.string() + ": cannot create the predictions file");
    for (std::size_t i = 0; i < scored.size(); ++i) {
      const eval::TokenizedItem& in = inputs[i];
      // One context when every choice shares it, else one per choice.
      const bool shared = in.shared_context();
      json contexts = json::array(), continuations = json::array();
      for (const eval::ChoiceTokens& c : in.choices) {
        if (!shared || contexts.empty()) contexts.push_back(c.context);
        continuations.push_back(c.continuation);
      }
      const json record = {{"id", scored[i].id},
                           {"answer", scored[i].answer},
                           {"predicted", scored[i].predicted},
                           {"scores", scored[i].scores},
                           {"probabilities", scored[i].probabilities},
                           {"contexts", contexts},
                           {"continuations", continuations}};
      f << record.dump() << '\n';
    }
    if (!f.flush()) {
      std::filesystem::remove(tmp);
      throw LoadError(tmp.string() + ": cannot write the predictions");
    }
  }
  std::filesystem::rename(tmp, path);
}

void print_table(const Options& o, DatasetFormat format, const eval::ClassificationMetrics& m) {
  std::printf("model     %s\ntask      %s (%s scoring)\n", o.model.c_str(),
              dataset_format_name(format), o.scoring.c_str());
  std::printf(
      "N         %zu\naccuracy  %.4f\nECE       %.4f  (%zu bins)\nNLL       %.4f\n"
      "Brier     %.4f\n",
      m.examples, m.accuracy, m.ece, m.bins.size(), m.nll, m.brier);
}

int run(const Options& o) {
  const DatasetFormat format = dataset_format_from_name(o.task);
  const eval::ScoringMethod method = eval::scoring_method_from_name(o.scoring);
  std::vector<MultipleChoiceItem> items = read_multiple_choice_jsonl(o.data, format);
  if (o.limit != 0 && items.size() > o.limit) items.resize(o.limit);
  if (items.empty()) throw LoadError(o.data + ": no items");

  const ModelFiles files = open_model_with_weights(o.model);
  const Tokenizer tokenizer = open_model_tokenizer(files, o.tokenizer, "score");
  std::vector<eval::TokenizedItem> inputs;
  std::size_t max_tokens = 0;
  for (const MultipleChoiceItem& item : items) {
    inputs.push_back(eval::tokenize_item(item, tokenizer, method));
    max_tokens = std::max(max_tokens, inputs.back().max_tokens());
  }

  vk::Context context;
  std::vector<eval::ScoredItem> scored;
  {
    const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    eval::MultipleChoiceScorer scorer(context, weights, method, max_tokens);
    const Clock::time_point start = Clock::now();
    for (const eval::TokenizedItem& input : inputs) {
      scored.push_back(scorer.score(input));
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      std::fprintf(stderr, "\rvkmoe score: %zu/%zu items, %.2f items/s", scored.size(),
                   inputs.size(), static_cast<double>(scored.size()) / seconds);
    }
    std::fprintf(stderr, "\n");
  }
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe score: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }

  std::vector<std::vector<double>> probabilities;
  std::vector<int> labels;
  for (const eval::ScoredItem& s : scored) {
    probabilities.push_back(s.probabilities);
    labels.push_back(s.answer);
  }
  const eval::ClassificationMetrics metrics = eval::classification_metrics(probabilities, labels);
  if (!o.out.empty()) write_predictions(o.out, inputs, scored);
  if (o.as_json) {
    std::printf("%s\n", metrics_json(o, format, metrics).dump(2).c_str());
  } else {
    print_table(o, format, metrics);
  }
  return 0;
}

bool parse_count(const std::string& text, std::size_t& value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  try {
    value = static_cast<std::size_t>(std::stoull(text));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int run_score(std::span<const std::string> args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if ((a == "-m" || a == "--model") && has_value) {
      o.model = args[++i];
    } else if (a == "--data" && has_value) {
      o.data = args[++i];
    } else if (a == "--task" && has_value) {
      o.task = args[++i];
    } else if (a == "--scoring" && has_value) {
      o.scoring = args[++i];
    } else if (a == "--limit" && has_value) {
      if (!parse_count(args[++i], o.limit)) {
        std::fprintf(stderr, "vkmoe score: --limit %s: expected a whole number\n", args[i].c_str());
        return 2;
      }
    } else if (a == "--out" && has_value) {
      o.out = args[++i];
    } else if (a == "--tokenizer" && has_value) {
      o.tokenizer = args[++i];
    } else if (a == "--json") {
      o.as_json = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s\n", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "vkmoe score: unexpected argument '%s'\n%s\n", a.c_str(), kUsage);
      return 2;
    }
  }
  if (auto stop = check_required(
          "score", kUsage, {{&o.model, "-m MODEL"}, {&o.data, "--data"}, {&o.task, "--task"}}))
    return *stop;
  return run(o);  // errors reach tools/vkmoe.cpp, which prints them with the command's name
}

}  // namespace vkmoe::cli
