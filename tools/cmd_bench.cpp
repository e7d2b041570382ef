// `vkmoe bench ...`: benchmarks. `kernels` measures every kernel against the device's peaks;
// `stats` the lab's GPU least squares and HMC against their single-thread CPU twins;
// `-m MODEL` a whole model's prefill and decode rates, as llama-bench
// (tools/bench/bench_model.cpp); `laplace` the Bayesian-MoE fit and predictives
// (tools/bench/bench_laplace.cpp).
#include "engine/vk/error.h"
#include "tools/command.h"

namespace vkmoe::cli {

int run_bench_kernels(std::span<const std::string> args);
int run_bench_stats(std::span<const std::string> args);
int run_bench_tokenizer(std::span<const std::string> args);
int run_bench_model(std::span<const std::string> args);
int run_bench_laplace(std::span<const std::string> args);

int run_bench(std::span<const std::string> args) {
  if (!args.empty() && args[0] == "kernels") return run_bench_kernels(args.subspan(1));
  if (!args.empty() && args[0] == "stats") return run_bench_stats(args.subspan(1));
  if (!args.empty() && args[0] == "tokenizer") return run_bench_tokenizer(args.subspan(1));
  if (!args.empty() && args[0] == "laplace") return run_bench_laplace(args.subspan(1));
  if (!args.empty() && (args[0] == "-m" || args[0] == "--model")) return run_bench_model(args);
  throw Error(
      "usage: vkmoe bench kernels [--json] [--quick] [-r N] [--filter TEXT]\n"
      "       vkmoe bench stats [lse|hmc] [--quick] [...]\n"
      "       vkmoe bench tokenizer [--tokenizer FILE | -m MODEL_DIR] [--text FILE] [--json]\n"
      "       vkmoe bench laplace -m MODEL --data FILE.jsonl --task T [--limit N] [--samples S]\n"
      "                           [--json]\n"
      "       vkmoe bench -m MODEL [-p 128] [-n 32] [-r 5] [--json]");
}

}  // namespace vkmoe::cli
