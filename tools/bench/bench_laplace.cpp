// `vkmoe bench laplace -m MODEL --data FILE.jsonl --task T [--limit N] [--samples S] [--json]`:
// Bayesian-MoE throughput (issue 6, point 8). Rows:
//   fit          examples/s of the KFAC accumulation (exact Fisher, every MoE layer): the rate
//                fit_laplace reports for its loop, so neither the model load nor the posterior's
//                eigendecompositions and λ count;
//   glm, mcS     items/s of the two predictives (eval --predictive glm|mc, S weight samples)
//                over the same items, with the posterior the fit made (λ fixed at 1);
//   expert_gram  GFLOP/s of the KFAC factor kernel during the timed fit, and its fraction of
//                the FMA probe's peak (as `vkmoe bench kernels`).
// Each stage first runs once on the first item, untimed, so pipeline compilation is not
// counted. Rates come from one timed run each: compare variants in one invocation.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "engine/bayes/layer_selection.h"
#include "engine/ops/peak_probe.h"
#include "engine/vk/context.h"
#include "engine/vk/device_info.h"
#include "loaders/load_error.h"
#include "tools/bayes_predictions.h"
#include "tools/command_options.h"
#include "tools/model_loading.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe bench laplace -m MODEL --data FILE.jsonl --task arc|obqa|boolq|winogrande|mmlu\n"
    "         [--limit N (16)] [--samples S (mc weight samples, 16)] [--json]\n"
    "         [--tokenizer tokenizer.json]";

struct Row {
  std::string test;
  double rate = 0;
  const char* unit = "";
};

double seconds_of(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_bench_laplace(std::span<const std::string> args) {
  std::string model_path, data, task, tokenizer_path, limit_text = "16", samples_text = "16";
  bool json = false;
  if (auto stop = parse_options("bench laplace", kUsage, args,
                                {{"-m", &model_path},
                                 {"--model", &model_path},
                                 {"--data", &data},
                                 {"--task", &task},
                                 {"--limit", &limit_text},
                                 {"--samples", &samples_text},
                                 {"--tokenizer", &tokenizer_path}},
                                {{"--json", &json}}))
    return *stop;
  if (auto stop = check_required("bench laplace", kUsage,
                                 {{&model_path, "-m MODEL"}, {&data, "--data"}, {&task, "--task"}}))
    return *stop;
  const auto limit = static_cast<std::size_t>(parse_whole("--limit", limit_text));
  const std::int64_t samples = parse_whole("--samples", samples_text);
  if (samples < 1) throw LoadError("bench laplace: --samples 0: expected at least 1");

  std::vector<MultipleChoiceItem> items =
      read_multiple_choice_jsonl(data, dataset_format_from_name(task));
  if (limit != 0 && items.size() > limit) items.resize(limit);
  if (items.empty()) throw LoadError(data + ": no items");
  const ModelFiles files = open_model_with_weights(model_path);
  const Tokenizer tokenizer = open_model_tokenizer(files, tokenizer_path, "bench laplace");
  std::vector<eval::TokenizedItem> inputs;
  std::vector<bayes::FitExample> examples;
  std::size_t max_tokens = 0;
  for (const MultipleChoiceItem& item : items) {
    inputs.push_back(eval::tokenize_item(item, tokenizer, eval::ScoringMethod::kAnswerLabels));
    examples.push_back(fit_example(inputs.back()));
    max_tokens = std::max(max_tokens, inputs.back().max_tokens());
  }

  vk::ContextOptions context_options;
  context_options.profiling = 1;  // the peaks and expert_gram's rate come from timestamps
  vk::Context context(context_options);
  const ops::PeakRates peaks = ops::measure_peaks(context, 3, false);
  const std::filesystem::path output =
      std::filesystem::temp_directory_path() /
      ("vkmoe-bench-laplace-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
       ".safetensors");
  std::vector<Row> rows;
  vk::KernelStats gram;
  {
    model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    bayes::LaplaceFitOptions fit;
    fit.layers = bayes::select_layers("all", weights.config);
    fit.prior_precision = {bayes::PrecisionChoice::kFixed, 1.0};
    fit.output = output;
    const std::span<const bayes::FitExample> all(examples);
    bayes::fit_laplace(context, weights, all.first(1), fit);  // warm-up
    context.profiler().clear();
    double fit_rate = 0;
    const bayes::LaplaceFitResult result =
        bayes::fit_laplace(context, weights, all, fit,
                           [&](const bayes::FitProgress& p) { fit_rate = p.examples_per_second; });
    gram = context.profiler().find("expert_gram");
    std::filesystem::remove(output);
    rows.push_back({"fit", fit_rate, "examples/s"});

    bayes::GlmPredictiveOptions glm;  // as eval: 1000 logit draws
    const std::vector<eval::TokenizedItem> first(inputs.begin(), inputs.begin() + 1);
    glm_probabilities(context, weights, result.posterior, glm, first);  // warm-up
    const double glm_seconds =
        seconds_of([&] { glm_probabilities(context, weights, result.posterior, glm, inputs); });
    rows.push_back({"glm", double(inputs.size()) / glm_seconds, "items/s"});

    eval::MultipleChoiceScorer scorer(context, weights, eval::ScoringMethod::kAnswerLabels,
                                      max_tokens);
    bayes::GlmPredictiveOptions mc;
    mc.integration.samples = 1;
    sampled_probabilities(context, weights, result.posterior, mc, scorer, first);  // warm-up
    mc.integration.samples = samples;
    const double mc_seconds = seconds_of(
        [&] { sampled_probabilities(context, weights, result.posterior, mc, scorer, inputs); });
    rows.push_back({"mc" + std::to_string(samples), double(inputs.size()) / mc_seconds, "items/s"});
  }
  const double gram_fraction = peaks.fma_gflops > 0 ? gram.gflops_per_s() / peaks.fma_gflops : 0;

  if (json) {
    nlohmann::json out = {{"model", model_path},
                          {"device", vk::banner(context.info())},
                          {"items", inputs.size()},
                          {"fisher", "exact"},
                          {"peaks", {{"fma_gflops", peaks.fma_gflops}}},
                          {"rows", nlohmann::json::array()},
                          {"expert_gram",
                           {{"calls", gram.calls},
                            {"gflops", gram.gflops_per_s()},
                            {"fraction_of_fma_peak", gram_fraction}}}};
    for (const Row& r : rows) {
      out["rows"].push_back({{"test", r.test}, {"rate", r.rate}, {"unit", r.unit}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("device: %s\n", vk::banner(context.info()).c_str());
    std::printf("peak: fma probe %.1f GFLOP/s; %zu items, exact Fisher\n\n", peaks.fma_gflops,
                inputs.size());
    std::printf("| %-40s | %-12s | %24s |\n", "model", "test", "rate");
    std::printf("| %s | %s | %s: |\n", std::string(40, '-').c_str(), std::string(12, '-').c_str(),
                std::string(23, '-').c_str());
    for (const Row& r : rows) {
      char rate[64];
      std::snprintf(rate, sizeof rate, "%.2f %s", r.rate, r.unit);
      std::printf("| %-40.40s | %-12s | %24s |\n", model_path.c_str(), r.test.c_str(), rate);
    }
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.2f GFLOP/s %4.1f%%", gram.gflops_per_s(),
                  100.0 * gram_fraction);
    std::printf("| %-40.40s | %-12s | %24s |\n", model_path.c_str(), "expert_gram", rate);
  }
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe bench laplace: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }
  return 0;
}

}  // namespace vkmoe::cli
