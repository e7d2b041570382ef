// The `vkmoe` command line: a table of subcommands, each in its own tools/cmd_*.cpp.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tools/command.h"

namespace vkmoe::cli {
int run_devices(std::span<const std::string> args);
int run_bench(std::span<const std::string> args);
int run_info(std::span<const std::string> args);
int run_logits(std::span<const std::string> args);
int run_run(std::span<const std::string> args);
int run_score(std::span<const std::string> args);
int run_stats(std::span<const std::string> args);
int run_plan(std::span<const std::string> args);
int run_laplace(std::span<const std::string> args);
int run_eval(std::span<const std::string> args);
int run_demo(std::span<const std::string> args);

}  // namespace vkmoe::cli

namespace {

using vkmoe::cli::Command;

const Command kCommands[] = {
    {"demo",
     "vkmoe demo [--models DIR] [--data DIR] [--out demo] [--train-limit N] [--eval-limit N] "
     "[--samples S] [--json]   the whole pipeline on the shipped demo model: Bayesian-MoE vs "
     "MAP, temperature scaling, last-layer Laplace, deep ensemble; demo/report.html",
     vkmoe::cli::run_demo},
    {"devices", "vkmoe devices                      one line per Vulkan device",
     vkmoe::cli::run_devices},
    {"info",
     "vkmoe info -m MODEL [--ctx N]            model folder or .gguf: architecture, experts, "
     "parameters, dtypes, size, memory a run needs",
     vkmoe::cli::run_info},
    {"logits",
     "vkmoe logits -m MODEL (--tokens 1,2,3 | -p TEXT) [--out F.npy] [--all-positions]   one "
     "forward: logits of the last (or every) position, float32 .npy",
     vkmoe::cli::run_logits},
    {"run",
     "vkmoe run -m MODEL -p TEXT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S]   generate "
     "text, streamed, with timings",
     vkmoe::cli::run_run},
    {"score",
     "vkmoe score -m MODEL --data F.jsonl --task arc|obqa|boolq|winogrande|mmlu [--scoring "
     "labels|continuation] [--limit N] [--json] [--out P.jsonl]   accuracy, ECE, NLL, Brier",
     vkmoe::cli::run_score},
    {"bench",
     "vkmoe bench kernels|stats|tokenizer|laplace [...] | bench -m MODEL [-p 128] [-n 32] [-r 5] "
     "[--json]   kernels vs. measured peak, fits/s, tokenizer MB/s, Laplace fit/predictive "
     "rates, model pp/tg tokens/s",
     vkmoe::cli::run_bench},
    {"plan",
     "vkmoe plan -m MODEL_OR_CONFIG [--rank R] [--layers all|q1|q2|q3|q4|A-B]   Bayesian-MoE "
     "fit from the config alone: experts, parameters, factor entries and memory, file size",
     vkmoe::cli::run_plan},
    {"laplace",
     "vkmoe laplace fit -m MODEL --data F.jsonl --task T -o P.safetensors [--rank R] [--fisher "
     "exact|mc|empirical] [--layers ...] [--prior-precision evidence|val|X] [--resume] ...   "
     "Bayesian-MoE posterior",
     vkmoe::cli::run_laplace},
    {"eval",
     "vkmoe eval -m MODEL --data F.jsonl --task T [--posterior P.safetensors] [--predictive "
     "glm|mc] "
     "[--link mc|probit] [--samples S] [--seed S] [--json] [--svg R.svg]   MAP and Bayesian-MoE "
     "side by side",
     vkmoe::cli::run_eval},
    {"stats",
     "vkmoe stats simulate|lse|rates|sample|contraction|choose-k --spec FILE ...   softmax-gated "
     "MoE regression lab",
     vkmoe::cli::run_stats},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: vkmoe <command> [options]\n\ncommands:\n");
  for (const Command& command : kCommands) {
    std::fprintf(out, "  %.*s\n", static_cast<int>(command.usage.size()), command.usage.data());
  }
  std::fprintf(out,
               "\nenvironment: VKMOE_DEVICE=<index> picks a device, VKMOE_VALIDATION=1 enables the "
               "Khronos validation layer,\nVKMOE_PROFILE=1 prints a per-kernel table at exit.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    print_usage(stdout);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& command : kCommands) {
    if (command.name != name) continue;
    try {
      return command.run(args);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "vkmoe %s: error: %s\n", name.c_str(), error.what());
      return 1;
    }
  }
  std::fprintf(stderr, "vkmoe: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr);
  return 2;
}
