#include "tools/demo_report.h"

#include <cstdio>

#include "engine/bayes/layer_selection.h"

namespace vkmoe::cli {

namespace {

using nlohmann::json;

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

// "48 of 4000 train items"
std::string sized(const DemoSplit& split) {
  return std::to_string(split.items.size()) + " of " + std::to_string(split.available) + " " +
         split.name + " items";
}

std::string lambdas(const std::vector<double>& lambda) {
  std::string s;
  for (double l : lambda) s += (s.empty() ? "" : ", ") + format("%.4g", l);
  return s;
}

std::string row(const MethodMetrics& m) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%-40s %7.4f %7.4f %7.4f %7.4f\n", m.name.c_str(),
                m.metrics.accuracy, m.metrics.ece, m.metrics.nll, m.metrics.brier);
  return buffer;
}

std::string header(const std::string& title) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%-40s %7s %7s %7s %7s\n", title.c_str(), "ACC", "ECE",
                "NLL", "Brier");
  return buffer;
}

json metrics_json(const eval::ClassificationMetrics& m) {  // the keys of `vkmoe eval --json`
  return {{"n", m.examples},           {"accuracy", m.accuracy}, {"ece", m.ece},
          {"ece_bins", m.bins.size()}, {"nll", m.nll},           {"brier", m.brier}};
}

json split_json(const DemoSplit& s) {
  return {{"file", s.file.string()}, {"items", s.items.size()}, {"available", s.available}};
}

}  // namespace

std::string lambda_source(const DemoReport& r) {
  return r.options.lambda_by_evidence ? "evidence on the train items"
                                      : "predictive NLL on " + sized(r.data.validation);
}

std::vector<std::string> demo_settings(const DemoReport& r) {
  const DemoOutcome& o = r.outcome;
  const std::string evaluation = std::to_string(r.data.evaluation.front().items.size());
  return {
      "MAP model: " + r.data.members.front().string() + "; deep ensemble: seed0..seed" +
          std::to_string(r.data.members.size() - 1),
      "Bayesian-MoE fit: " + sized(r.data.train) + ", " + o.fisher + " Fisher, rank " +
          std::to_string(r.options.rank) + ", MoE layers " + bayes::describe_layers(o.layers) +
          ", λ " + lambdas(o.lambda) + " (" + lambda_source(r) + ")",
      "temperature scaling: T " + format("%.4f", o.temperature) + " (NLL on " +
          sized(r.data.validation) + ")",
      "last-layer Laplace (lm_head rows of the labels): λ " + format("%.4g", o.last_layer_lambda) +
          " (" + lambda_source(r) + ")",
      "Bayesian-MoE (mc): λ " + format("%.4g", o.mc_lambda) + " (" +
          (r.options.lambda_by_evidence
               ? "the posterior's"
               : "its own predictive NLL on " + sized(r.data.validation) + ", " +
                     std::to_string(r.options.mc_selection_samples) + " weight samples per λ") +
          ")",
      "evaluation: " + evaluation + " items per split; glm predictives " +
          std::to_string(r.options.glm_samples) + " logit draws, mc " +
          std::to_string(r.options.mc_samples) + " weight samples, seed " +
          std::to_string(r.options.seed),
      "full splits: --train-limit 0 --val-limit 0 --eval-limit 0; time " +
          format("%.1f", r.seconds) + " s",
  };
}

std::string demo_text_report(const DemoReport& r) {
  std::string text;
  for (const std::string& line : demo_settings(r)) text += line + "\n";
  for (const SplitMetrics& s : r.outcome.splits) {
    text += "\n" + s.split->title + ": " + sized(*s.split) + "\n" + header("method");
    for (const MethodMetrics& m : s.methods) text += row(m);
    text += header("  Bayesian-MoE (glm) layer ablation");
    for (const MethodMetrics& m : s.ablation) text += row({m.key, "  " + m.name, m.metrics});
  }
  text += "\nstage times:";
  for (const StageTime& t : r.outcome.stages) {
    text += " " + t.stage + " " + format("%.1f", t.seconds) + " s;";
  }
  text += "\nreport: " + r.report_file.string() + "\n";
  return text;
}

json demo_json_report(const DemoReport& r) {
  const DemoOutcome& o = r.outcome;
  json splits = json::array();
  for (const SplitMetrics& s : o.splits) {
    json methods = json::object(), ablation = json::object();
    for (const MethodMetrics& m : s.methods) methods[m.key] = metrics_json(m.metrics);
    for (const MethodMetrics& m : s.ablation) {
      ablation[m.key] = metrics_json(m.metrics);
      ablation[m.key]["name"] = m.name;
    }
    json split = split_json(*s.split);
    split["split"] = s.split->name;
    split["title"] = s.split->title;
    split["methods"] = methods;
    split["ablation"] = ablation;
    splits.push_back(split);
  }
  json stages = json::array();
  for (const StageTime& t : o.stages) {
    stages.push_back({{"stage", t.stage}, {"items", t.items}, {"seconds", t.seconds}});
  }
  std::vector<std::string> members;
  for (const auto& m : r.data.members) members.push_back(m.string());
  return {{"models", members},
          {"posterior", o.posterior_file.string()},
          {"report", r.report_file.string()},
          {"train", split_json(r.data.train)},
          {"validation", split_json(r.data.validation)},
          {"rank", r.options.rank},
          {"fisher", o.fisher},
          {"layers", o.layers},
          {"lambda", o.lambda},
          {"temperature", o.temperature},
          {"last_layer_lambda", o.last_layer_lambda},
          {"mc_lambda", o.mc_lambda},
          {"glm_samples", r.options.glm_samples},
          {"mc_samples", r.options.mc_samples},
          {"seed", r.options.seed},
          {"splits", splits},
          {"stages", stages},
          {"seconds", r.seconds}};
}

}  // namespace vkmoe::cli
