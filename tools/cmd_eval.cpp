// `vkmoe eval -m MODEL --data TEST.jsonl --task T [--posterior P.safetensors]
// [--predictive glm|mc] [--link mc|probit] [--samples S] [--seed S] [--prior-precision X]
// [--limit N] [--json] [--svg RELIABILITY.svg] [--tokenizer tokenizer.json]`: accuracy, ECE (15
// bins), NLL and Brier of the MAP model (the numbers of `vkmoe score`, answer-label scoring) and,
// with a posterior, of the Bayesian-MoE predictive side by side: `glm` (engine/bayes/predictive.h,
// linearised) or `mc` (S weight samples, engine/bayes/expert_weight_sampler.h, probabilities
// averaged). Options, items and the posterior's model fingerprint are checked before the weights
// are loaded.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/model_fingerprint.h"
#include "engine/bayes/posterior_file.h"
#include "engine/bayes/predictive.h"
#include "engine/eval/choice_tokens.h"
#include "engine/eval/metrics.h"
#include "engine/eval/multiple_choice.h"
#include "engine/eval/reliability_svg.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"
#include "loaders/dataset.h"
#include "loaders/load_error.h"
#include "tools/atomic_text_file.h"
#include "tools/bayes_predictions.h"
#include "tools/command_options.h"
#include "tools/fit_examples.h"
#include "tools/model_loading.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe eval -m MODEL --data TEST.jsonl --task arc|obqa|boolq|winogrande|mmlu\n"
    "         [--posterior POSTERIOR.safetensors] [--predictive glm|mc] [--link mc|probit]\n"
    "         [--samples S (glm: 1000 logit draws; mc: 16 weight draws)] [--seed S]\n"
    "         [--prior-precision X (the posterior's)]\n"
    "         [--limit N] [--json] [--svg RELIABILITY.svg] [--tokenizer tokenizer.json]";

using nlohmann::json;

struct Options {
  std::string model, data, task, posterior, tokenizer, prior_precision, svg;
  std::string predictive = "glm", link = "mc", samples, seed = "0", limit = "0";
  bool as_json = false;
};

bayes::GlmPredictiveOptions predictive_options(const Options& o) {
  if (o.predictive != "glm" && o.predictive != "mc") {
    throw bayes::BayesError("--predictive " + o.predictive + ": expected glm or mc");
  }
  bayes::GlmPredictiveOptions p;
  if (o.link == "mc") {
    p.integration.method = bayes::LogitIntegration::kMonteCarlo;
  } else if (o.link == "probit") {
    p.integration.method = bayes::LogitIntegration::kProbit;
  } else {
    throw bayes::BayesError("--link " + o.link + ": expected mc or probit");
  }
  const std::string samples = !o.samples.empty() ? o.samples : o.predictive == "mc" ? "16" : "1000";
  p.integration.samples = parse_whole("--samples", samples);
  if (p.integration.samples < 1) throw bayes::BayesError("--samples 0: expected at least 1");
  p.integration.seed = static_cast<std::uint64_t>(parse_whole("--seed", o.seed));
  if (!o.prior_precision.empty()) {
    p.prior_precision = parse_positive("--prior-precision", o.prior_precision);
  }
  return p;
}

json metrics_json(const eval::ClassificationMetrics& m) {
  return {{"n", m.examples},           {"accuracy", m.accuracy}, {"ece", m.ece},
          {"ece_bins", m.bins.size()}, {"nll", m.nll},           {"brier", m.brier}};
}

void progress(const char* what, std::size_t done, std::size_t total,
              std::chrono::steady_clock::time_point start) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\rvkmoe eval: %s %zu/%zu items, %.2f items/s", what, done, total,
               static_cast<double>(done) / s);
  if (done == total) std::fprintf(stderr, "\n");
}

int run(const Options& o) {
  const bayes::GlmPredictiveOptions predictive = predictive_options(o);
  const auto limit = static_cast<std::size_t>(parse_whole("--limit", o.limit));
  const bool bayesian = !o.posterior.empty();
  if (!bayesian && !o.prior_precision.empty()) {
    throw bayes::BayesError("--prior-precision applies to --posterior only");
  }
  const DatasetFormat format = dataset_format_from_name(o.task);
  std::vector<MultipleChoiceItem> items = read_multiple_choice_jsonl(o.data, format);
  if (limit != 0 && items.size() > limit) items.resize(limit);
  if (items.empty()) throw LoadError(o.data + ": no items");

  const ModelFiles files = open_model_with_weights(o.model);
  const Tokenizer tokenizer = open_model_tokenizer(files, o.tokenizer, "eval");
  std::optional<bayes::Posterior> posterior;
  if (bayesian) {
    posterior = bayes::read_posterior_file(o.posterior, bayes::model_fingerprint(files.config));
  }
  std::vector<eval::TokenizedItem> inputs;
  std::size_t max_tokens = 0;
  for (const MultipleChoiceItem& item : items) {
    inputs.push_back(eval::tokenize_item(item, tokenizer, eval::ScoringMethod::kAnswerLabels));
    max_tokens = std::max(max_tokens, inputs.back().max_tokens());
  }

  vk::Context context;
  std::vector<std::vector<double>> map_p, bayes_p;
  std::vector<int> labels;
  {
    model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    eval::MultipleChoiceScorer scorer(context, weights, eval::ScoringMethod::kAnswerLabels,
                                      max_tokens);
    auto start = std::chrono::steady_clock::now();
    for (const eval::TokenizedItem& input : inputs) {
      const eval::ScoredItem s = scorer.score(input);
      map_p.push_back(s.probabilities);
      labels.push_back(s.answer);
      progress("MAP", map_p.size(), inputs.size(), start);
    }
    if (posterior && o.predictive == "mc") {
      start = std::chrono::steady_clock::now();
      bayes_p = sampled_probabilities(context, weights, *posterior, predictive, scorer, inputs,
                                      [&](std::size_t done, std::size_t total) {
                                        progress("Bayesian-MoE (mc) samples", done, total, start);
                                      });
    } else if (posterior) {
      start = std::chrono::steady_clock::now();
      bayes_p = glm_probabilities(context, weights, *posterior, predictive, inputs,
                                  [&](std::size_t done, std::size_t total) {
                                    progress("Bayesian-MoE (glm)", done, total, start);
                                  });
    }
  }
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe eval: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }

  const eval::ClassificationMetrics map = eval::classification_metrics(map_p, labels);
  std::optional<eval::ClassificationMetrics> bayes;
  if (posterior) bayes = eval::classification_metrics(bayes_p, labels);
  if (!o.svg.empty()) {
    std::vector<eval::ReliabilityPanel> panels{{"MAP", map}};
    if (bayes) panels.push_back({"Bayesian-MoE (" + o.predictive + ")", *bayes});
    write_text_atomically(o.svg, eval::reliability_svg(panels), "the reliability diagram");
  }
  if (o.as_json) {
    json out = {{"model", o.model},
                {"task", dataset_format_name(format)},
                {"scoring", "labels"},
                {"n", map.examples},
                {"map", metrics_json(map)}};
    if (bayes) {
      json b = metrics_json(*bayes);
      b["posterior"] = o.posterior;
      b["predictive"] = o.predictive;
      if (o.predictive == "glm") b["link"] = o.link;
      b["samples"] = predictive.integration.samples;
      b["seed"] = predictive.integration.seed;
      b["lambda"] = predictive.prior_precision ? std::vector<double>{*predictive.prior_precision}
                                               : posterior->prior_precision;
      b["temperature"] = posterior->temperature;
      out["bayes"] = b;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("model     %s\ntask      %s (labels scoring), N %zu\n", o.model.c_str(),
              dataset_format_name(format), map.examples);
  if (bayes) {
    std::printf("posterior %s (%s predictive%s%s, %lld samples)\n", o.posterior.c_str(),
                o.predictive.c_str(), o.predictive == "glm" ? ", link " : "",
                o.predictive == "glm" ? o.link.c_str() : "",
                static_cast<long long>(predictive.integration.samples));
  }
  std::printf("%-10s %10s%s\n", "", "MAP", bayes ? "  Bayesian-MoE" : "");
  const auto row = [&](const char* name, double m, double b) {
    if (bayes) {
      std::printf("%-10s %10.4f  %12.4f\n", name, m, b);
    } else {
      std::printf("%-10s %10.4f\n", name, m);
    }
  };
  const eval::ClassificationMetrics& b = bayes ? *bayes : map;
  row("accuracy", map.accuracy, b.accuracy);
  row("ECE", map.ece, b.ece);
  row("NLL", map.nll, b.nll);
  row("Brier", map.brier, b.brier);
  return 0;
}

}  // namespace

int run_eval(std::span<const std::string> args) {
  Options o;
  if (auto stop = parse_options("eval", kUsage, args,
                                {{"-m", &o.model},
                                 {"--model", &o.model},
                                 {"--data", &o.data},
                                 {"--task", &o.task},
                                 {"--posterior", &o.posterior},
                                 {"--predictive", &o.predictive},
                                 {"--link", &o.link},
                                 {"--samples", &o.samples},
                                 {"--seed", &o.seed},
                                 {"--prior-precision", &o.prior_precision},
                                 {"--limit", &o.limit},
                                 {"--tokenizer", &o.tokenizer},
                                 {"--svg", &o.svg}},
                                {{"--json", &o.as_json}}))
    return *stop;
  if (auto stop = check_required(
          "eval", kUsage, {{&o.model, "-m MODEL"}, {&o.data, "--data"}, {&o.task, "--task"}}))
    return *stop;
  return run(o);  // errors reach tools/vkmoe.cpp, which prints them with the command's name
}

}  // namespace vkmoe::cli
