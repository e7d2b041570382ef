// `vkmoe laplace fit -m MODEL --data TRAIN.jsonl --task T [--rank R] [--fisher exact|mc|empirical]
// [--layers all|q1..q4|A-B] [--prior-precision evidence|val|X] [--prior-mean zero|map]
// [--temperature T] [--per-layer] [--val FILE] [--limit N] [--seed S] [--checkpoint-every N]
// [--fold-every N] [--resume] -o POSTERIOR.safetensors`: the Bayesian-MoE posterior of a model
// (engine/bayes/laplace_fit.h), with a progress bar on stderr. Every option and item is checked
// before the model is loaded.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
#include "engine/eval/choice_tokens.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"
#include "loaders/dataset.h"
#include "loaders/load_error.h"
#include "tools/bayes_predictions.h"
#include "tools/command_options.h"
#include "tools/fit_examples.h"
#include "tools/model_loading.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe laplace fit -m MODEL --data TRAIN.jsonl --task arc|obqa|boolq|winogrande|mmlu\n"
    "         -o POSTERIOR.safetensors [--rank R (32)] [--fisher exact|mc|empirical]\n"
    "         [--layers all|q1|q2|q3|q4|A-B] [--prior-precision evidence|val|X]\n"
    "         [--prior-mean zero|map] [--temperature T] [--per-layer] [--val FILE] [--limit N]\n"
    "         [--seed S] [--checkpoint-every N] [--fold-every N (64)] [--resume]\n"
    "         [--tokenizer tokenizer.json] [--stop-after N (tests: stop, keep the checkpoint)]";

struct Options {
  std::string model, data, task, output, tokenizer, val;
  std::string rank = "32", fisher = "exact", layers = "all", prior_precision = "evidence";
  std::string prior_mean = "zero", temperature = "1", limit = "0", seed = "0";
  std::string checkpoint_every = "0", fold_every = "64", stop_after = "0";
  bool per_layer = false, resume = false;
};

void print_progress(const bayes::FitProgress& p) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * p.done / p.total);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\rvkmoe laplace fit: [%s] %lld/%lld examples, %.2f examples/s, ETA %.0f s",
               bar.c_str(), static_cast<long long>(p.done), static_cast<long long>(p.total),
               p.examples_per_second, p.eta_seconds);
  if (p.done == p.total) std::fprintf(stderr, "\n");
}

int run_fit(const Options& o) {
  bayes::LaplaceFitOptions f;
  f.rank = parse_whole("--rank", o.rank);
  f.fisher = bayes::parse_fisher_type(o.fisher);
  f.prior_mean = bayes::parse_prior_mean(o.prior_mean);
  f.prior_precision = bayes::parse_prior_precision(o.prior_precision);
  f.per_layer = o.per_layer;
  f.temperature = parse_positive("--temperature", o.temperature);
  f.seed = static_cast<std::uint64_t>(parse_whole("--seed", o.seed));
  f.fold_every = parse_whole("--fold-every", o.fold_every);
  f.checkpoint_every = parse_whole("--checkpoint-every", o.checkpoint_every);
  f.stop_after = parse_whole("--stop-after", o.stop_after);
  f.output = o.output;
  f.resume = o.resume;
  const bool by_validation = f.prior_precision.choice == bayes::PrecisionChoice::kValidation;
  if (!o.val.empty() && !by_validation) {
    throw bayes::BayesError("--val FILE is read only with --prior-precision val");
  }
  if (by_validation && o.val.empty()) {
    throw bayes::BayesError("--prior-precision val needs --val FILE (validation items)");
  }
  const auto limit = static_cast<std::size_t>(parse_whole("--limit", o.limit));

  const DatasetFormat format = dataset_format_from_name(o.task);
  std::vector<MultipleChoiceItem> items = read_multiple_choice_jsonl(o.data, format);
  if (limit != 0 && items.size() > limit) items.resize(limit);
  if (items.empty()) throw LoadError(o.data + ": no items");

  const ModelFiles files = open_model_with_weights(o.model);
  f.layers = bayes::select_layers(o.layers, files.config);
  const Tokenizer tokenizer = open_model_tokenizer(files, o.tokenizer, "laplace fit");
  const std::vector<bayes::FitExample> examples = fit_examples(items, tokenizer);
  if (by_validation) {
    f.validation = fit_examples(read_multiple_choice_jsonl(o.val, format), tokenizer);
  }
  bayes::check_laplace_fit_options(f);

  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  bayes::LaplaceFitResult result;
  {
    const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    result = bayes::fit_laplace(context, weights, examples, f, print_progress);
  }
  if (context.validation_message_count() != 0) {
    std::fprintf(stderr, "vkmoe laplace fit: %zu validation messages\n",
                 context.validation_message_count());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.complete) {
    const std::string where = f.checkpoint_every > 0
                                  ? "checkpoint " + bayes::checkpoint_path(f.output).string()
                                  : std::string("no checkpoint (--checkpoint-every 0)");
    std::fprintf(stderr, "\nvkmoe laplace fit: stopped after %lld examples; %s\n",
                 static_cast<long long>(f.stop_after), where.c_str());
    return 0;
  }
  const bayes::Posterior& p = result.posterior;
  std::printf("model        %s (fingerprint %s)\n", o.model.c_str(),
              bayes::fingerprint_hex(p.model_fingerprint).c_str());
  std::printf("examples     %zu (%lld from a checkpoint)\n", examples.size(),
              static_cast<long long>(result.resumed_at));
  std::printf("layers       %s\nrank         %lld\nfisher       %s\n",
              bayes::describe_layers(f.layers).c_str(), static_cast<long long>(f.rank),
              std::string(bayes::fisher_type_name(f.fisher)).c_str());
  std::printf("log-lik      %.6f\nlambda      ", result.log_likelihood);
  for (double lambda : p.prior_precision) std::printf(" %.6g", lambda);
  if (by_validation) {
    std::printf("  (val: NLL %.6f on %zu items)", result.validation.nll, f.validation.size());
  }
  std::printf("  (%s)\ntemperature  %g\nposterior    %s\ntime         %.2f s\n",
              o.prior_precision.c_str(), p.temperature, o.output.c_str(), seconds);
  return 0;
}

int run_laplace_fit(std::span<const std::string> args) {
  Options o;
  if (auto stop = parse_options("laplace fit", kUsage, args,
                                {{"-m", &o.model},
                                 {"--model", &o.model},
                                 {"--data", &o.data},
                                 {"--task", &o.task},
                                 {"-o", &o.output},
                                 {"--out", &o.output},
                                 {"--tokenizer", &o.tokenizer},
                                 {"--val", &o.val},
                                 {"--rank", &o.rank},
                                 {"--fisher", &o.fisher},
                                 {"--layers", &o.layers},
                                 {"--prior-precision", &o.prior_precision},
                                 {"--prior-mean", &o.prior_mean},
                                 {"--temperature", &o.temperature},
                                 {"--limit", &o.limit},
                                 {"--seed", &o.seed},
                                 {"--checkpoint-every", &o.checkpoint_every},
                                 {"--fold-every", &o.fold_every},
                                 {"--stop-after", &o.stop_after}},
                                {{"--per-layer", &o.per_layer}, {"--resume", &o.resume}}))
    return *stop;
  if (auto stop = check_required("laplace fit", kUsage,
                                 {{&o.model, "-m MODEL"},
                                  {&o.data, "--data"},
                                  {&o.task, "--task"},
                                  {&o.output, "-o POSTERIOR.safetensors"}}))
    return *stop;
  return run_fit(o);
}

}  // namespace

int run_laplace(std::span<const std::string> args) {
  if (!args.empty() && args[0] == "fit") return run_laplace_fit(args.subspan(1));
  std::fprintf(stderr, "vkmoe laplace: expected a subcommand: fit\n%s\n", kUsage);
  return 2;
}

}  // namespace vkmoe::cli
