// `vkmoe demo [--models DIR] [--data DIR] [--out DIR] [--train-limit N] [--val-limit N]
// [--eval-limit N] [--samples S] [--seed S] [--json]`: the whole Bayesian-MoE pipeline on the
// shipped demo model and task (issue 7) — fit the posterior of seed0 on the train split, then
// compare MAP, temperature scaling, last-layer Laplace, a deep ensemble of seed0..seed3 and
// Bayesian-MoE (glm and mc) on the ID test split and both OOD splits; a table per split on
// stdout (or --json) and <out>/report.html with reliability diagrams and the layer-wise
// ablation. The default sizes keep a run under five minutes on two CPU cores with lavapipe.
#include <chrono>
#include <cstdio>
#include <span>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "tools/atomic_text_file.h"
#include "tools/command_options.h"
#include "tools/demo_inputs.h"
#include "tools/demo_pipeline.h"
#include "tools/demo_report.h"

namespace vkmoe::cli {

namespace {

// Sizes measured on two shared CPU cores with lavapipe (README "vkmoe demo"): the fit and the
// glm predictive cost a forward and four backward passes per item, everything else one forward.
constexpr const char* kDefaultTrainLimit = "160";
constexpr const char* kDefaultValidationLimit = "100";
constexpr const char* kDefaultEvalLimit = "100";
constexpr const char* kDefaultSamples = "6";

constexpr const char* kUsage =
    "usage: vkmoe demo [--models DIR (assets/demo/models: seed0..seed3)]\n"
    "         [--data DIR (assets/demo/data: train, validation, test, ood_shift, ood_template)]\n"
    "         [--out DIR (demo)] [--train-limit N (160)] [--val-limit N (100)]\n"
    "         [--eval-limit N (100 per test split)] [--samples S (6 mc weight samples)]\n"
    "         [--prior-precision val|evidence (val: both Laplace rows pick λ by validation NLL)]\n"
    "         [--seed S (0)] [--json]\n"
    "Fits Bayesian-MoE on seed0, compares it with MAP, temperature scaling, last-layer Laplace\n"
    "and a deep ensemble on the ID test and both OOD splits, and writes OUT/report.html and\n"
    "OUT/posterior.safetensors. The default limits keep a run under 5 minutes on 2 CPU cores\n"
    "with lavapipe; the full splits are --train-limit 0 --val-limit 0 --eval-limit 0.";

struct Options {
  std::string models, data, out = "demo";
  std::string train_limit = kDefaultTrainLimit, validation_limit = kDefaultValidationLimit;
  std::string eval_limit = kDefaultEvalLimit, samples = kDefaultSamples, seed = "0";
  std::string prior_precision = "val";
  bool as_json = false;
};

int run(const Options& o) {
  const auto start = std::chrono::steady_clock::now();
  DemoDataOptions d;
  d.models = o.models;
  d.data = o.data;
  d.train_limit = static_cast<std::size_t>(parse_whole("--train-limit", o.train_limit));
  d.validation_limit = static_cast<std::size_t>(parse_whole("--val-limit", o.validation_limit));
  d.eval_limit = static_cast<std::size_t>(parse_whole("--eval-limit", o.eval_limit));
  DemoOptions options;
  options.out = o.out;
  options.mc_samples = parse_whole("--samples", o.samples);
  if (options.mc_samples < 1) throw bayes::BayesError("--samples 0: expected at least 1");
  options.seed = static_cast<std::uint64_t>(parse_whole("--seed", o.seed));
  if (options.out.empty()) throw bayes::BayesError("--out: expected a folder");
  if (o.prior_precision != "val" && o.prior_precision != "evidence") {
    throw bayes::BayesError("--prior-precision " + o.prior_precision +
                            ": expected val or evidence");
  }
  options.lambda_by_evidence = o.prior_precision == "evidence";

  const DemoData data = load_demo_data(d);
  std::fprintf(stderr, "vkmoe demo: %zu train, %zu validation, %zu/%zu/%zu test items; out %s\n",
               data.train.items.size(), data.validation.items.size(),
               data.evaluation[0].items.size(), data.evaluation[1].items.size(),
               data.evaluation[2].items.size(), options.out.string().c_str());
  const DemoOutcome outcome = run_demo_pipeline(data, options);
  if (outcome.validation_messages != 0) {
    std::fprintf(stderr, "vkmoe demo: %zu validation messages\n", outcome.validation_messages);
    return 1;
  }
  const DemoReport report{
      data, options, outcome, options.out / "report.html",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
  write_text_atomically(report.report_file, demo_html_report(report), "the demo report");
  if (o.as_json) {
    std::printf("%s\n", demo_json_report(report).dump(2).c_str());
  } else {
    std::printf("%s", demo_text_report(report).c_str());
  }
  return 0;
}

}  // namespace

int run_demo(std::span<const std::string> args) {
  Options o;
  if (auto stop = parse_options("demo", kUsage, args,
                                {{"--models", &o.models},
                                 {"--data", &o.data},
                                 {"--out", &o.out},
                                 {"--train-limit", &o.train_limit},
                                 {"--val-limit", &o.validation_limit},
                                 {"--eval-limit", &o.eval_limit},
                                 {"--samples", &o.samples},
                                 {"--seed", &o.seed},
                                 {"--prior-precision", &o.prior_precision}},
                                {{"--json", &o.as_json}}))
    return *stop;
  return run(o);  // errors reach tools/vkmoe.cpp, which prints them with the command's name
}

}  // namespace vkmoe::cli
