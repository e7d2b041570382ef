// `vkmoe eval -m MODEL --data TEST.jsonl --task T [--posterior P.safetensors]
// [--predictive glm|mc] [--link mc|probit] [--samples S] [--seed S] [--prior-precision X[,X...]]
// [--limit N] [--json] [--svg RELIABILITY.svg] [--tokenizer tokenizer.json]`: accuracy, ECE (15
// bins), NLL and Brier of the MAP model (the numbers of `vkmoe score`, answer-label scoring) and,
// with a posterior, of the Bayesian-MoE predictive side by side: `glm` (engine/bayes/predictive.h,
// linearised) or `mc` (S weight samples, engine/bayes/expert_weight_sampler.h, probabilities
// averaged). Several prior precisions give one row per λ (a sensitivity sweep, as laplace-torch's
// grid search shows it; glm gathers each item's Jacobians once for all of them). Options, items
// and the posterior's model fingerprint are checked before the weights are loaded.
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
    "         [--prior-precision X[,X...] (the posterior's; several: one row per λ)]\n"
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
  return p;
}

// --prior-precision: none (the posterior's λ), one value, or a comma-separated sweep.
std::vector<std::optional<double>> prior_precisions(const Options& o) {
  if (o.prior_precision.empty()) return {std::nullopt};
  std::vector<std::optional<double>> lambdas;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = o.prior_precision.find(',', begin);
    lambdas.emplace_back(
        parse_positive("--prior-precision", o.prior_precision.substr(begin, end - begin)));
    if (end == std::string::npos) return lambdas;
    begin = end + 1;
  }
}

json metrics_json(const eval::ClassificationMetrics& m) {
  return {{"n", m.examples},           {"accuracy", m.accuracy}, {"ece", m.ece},
          {"ece_bins", m.bins.size()}, {"nll", m.nll},           {"brier", m.brier}};
}

void progress(const char* what, std::size_t done, std::size_t total,
              std::chrono::steady_clock::time_point start, const char* unit = "items") {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\rvkmoe eval: %s %zu/%zu %s, %.2f %s/s", what, done, total, unit,
               static_cast<double>(done) / s, unit);
  if (done == total) std::fprintf(stderr, "\n");
}

// One row per λ of a sweep under the MAP row.
void print_sweep(const eval::ClassificationMetrics& map,
                 const std::vector<eval::ClassificationMetrics>& bayes,
                 const std::vector<std::optional<double>>& lambdas) {
  std::printf("%-12s %10s %10s %10s %10s\n", "lambda", "accuracy", "ECE", "NLL", "Brier");
  const auto row = [](const std::string& name, const eval::ClassificationMetrics& m) {
    std::printf("%-12s %10.4f %10.4f %10.4f %10.4f\n", name.c_str(), m.accuracy, m.ece, m.nll,
                m.brier);
  };
  row("MAP", map);
  for (std::size_t k = 0; k < bayes.size(); ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "%.4g", *lambdas[k]);
    row(name, bayes[k]);
  }
}

int run(const Options& o) {
  bayes::GlmPredictiveOptions predictive = predictive_options(o);
  const std::vector<std::optional<double>> lambdas = prior_precisions(o);
  predictive.prior_precision = lambdas.front();
  const auto limit = static_cast<std::size_t>(parse_whole("--limit", o.limit));
  const bool bayesian = !o.posterior.empty();
  if (!bayesian && !o.prior_precision.empty()) {
    throw bayes::BayesError("--prior-precision applies to --posterior only");
  }
  if (lambdas.size() > 1 && !o.svg.empty()) {
    throw bayes::BayesError("--svg draws one predictive: give one --prior-precision");
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
  std::vector<std::vector<double>> map_p;
  std::vector<std::vector<std::vector<double>>> bayes_p;  // [λ][item][class]
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
      for (const std::optional<double>& lambda : lambdas) {
        bayes::GlmPredictiveOptions at = predictive;
        at.prior_precision = lambda;
        start = std::chrono::steady_clock::now();
        bayes_p.push_back(sampled_probabilities(context, weights, *posterior, at, scorer, inputs,
                                                [&](std::size_t done, std::size_t total) {
                                                  progress("Bayesian-MoE (mc)", done, total, start,
                                                           "weight samples");
                                                }));
      }
    } else if (posterior) {
      start = std::chrono::steady_clock::now();
      bayes_p = glm_probability_sweep(context, weights, *posterior, predictive, lambdas, inputs,
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
  std::vector<eval::ClassificationMetrics> bayes;  // one per λ
  for (const auto& p : bayes_p) bayes.push_back(eval::classification_metrics(p, labels));
  if (!o.svg.empty()) {
    std::vector<eval::ReliabilityPanel> panels{{"MAP", map}};
    if (!bayes.empty()) panels.push_back({"Bayesian-MoE (" + o.predictive + ")", bayes.front()});
    write_text_atomically(o.svg, eval::reliability_svg(panels), "the reliability diagram");
  }
  const auto bayes_json = [&](std::size_t k) {
    json b = metrics_json(bayes[k]);
    b["posterior"] = o.posterior;
    b["predictive"] = o.predictive;
    if (o.predictive == "glm") b["link"] = o.link;
    b["samples"] = predictive.integration.samples;
    b["seed"] = predictive.integration.seed;
    b["lambda"] = lambdas[k] ? std::vector<double>{*lambdas[k]} : posterior->prior_precision;
    b["temperature"] = posterior->temperature;
    return b;
  };
  if (o.as_json) {
    json out = {{"model", o.model},
                {"task", dataset_format_name(format)},
                {"scoring", "labels"},
                {"n", map.examples},
                {"map", metrics_json(map)}};
    if (bayes.size() == 1) out["bayes"] = bayes_json(0);
    if (bayes.size() > 1) {
      out["sweep"] = json::array();
      for (std::size_t k = 0; k < bayes.size(); ++k) out["sweep"].push_back(bayes_json(k));
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("model     %s\ntask      %s (labels scoring), N %zu\n", o.model.c_str(),
              dataset_format_name(format), map.examples);
  if (!bayes.empty()) {
    std::printf("posterior %s (%s predictive%s%s, %lld samples)\n", o.posterior.c_str(),
                o.predictive.c_str(), o.predictive == "glm" ? ", link " : "",
                o.predictive == "glm" ? o.link.c_str() : "",
                static_cast<long long>(predictive.integration.samples));
  }
  if (bayes.size() > 1) {
    print_sweep(map, bayes, lambdas);
    return 0;
  }
  std::printf("%-10s %10s%s\n", "", "MAP", bayes.empty() ? "" : "  Bayesian-MoE");
  const auto row = [&](const char* name, double m, double b) {
    if (!bayes.empty()) {
      std::printf("%-10s %10.4f  %12.4f\n", name, m, b);
    } else {
      std::printf("%-10s %10.4f\n", name, m);
    }
  };
  const eval::ClassificationMetrics& b = bayes.empty() ? map : bayes.front();
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
