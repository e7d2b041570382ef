// `vkmoe bench stats`: least-squares fits per second on the GPU against the single-thread CPU
// reference of the same optimiser (Adam, then Levenberg-Marquardt) on the same problems, then
// the HMC sampler's effective samples per second against its CPU twin (bench_stats_hmc.cpp).
// Both run in one process, so the ratios are the numbers to read; absolute rates on lavapipe
// are noisy. `bench stats lse ...` / `bench stats hmc ...` run one half with its options.
#include <chrono>
#include <cstdio>
#include <string>

#include "engine/stats/lse_cpu.h"
#include "engine/stats/lse_experiment.h"
#include "engine/stats/lse_gpu.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "tools/bench/stats_bench_spec.h"

namespace vkmoe::cli {

int run_bench_stats_hmc(std::span<const std::string> args);

namespace {

uint32_t parse_count(std::span<const std::string> args, size_t i) {
  if (i + 1 >= args.size()) throw Error(args[i] + " needs a value");
  return static_cast<uint32_t>(std::stoul(args[i + 1]));
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_bench_stats_lse(std::span<const std::string> args) {
  stats::LseExperimentConfig config;
  config.spec = stats_bench_spec();
  config.experts = 3;  // over-fitted by one: the case the lab spends its time on
  uint32_t samples = 2000, replications = 8;
  config.optimiser.adam.iterations = 300;
  config.optimiser.adam.learning_rate = 0.02f;
  config.optimiser.adam.final_learning_rate = 2e-4f;
  config.optimiser.refine.iterations = 20;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--quick") {
      samples = 500;
      replications = 4;
      config.optimiser.adam.iterations = 100;
      config.optimiser.refine.iterations = 10;
    } else if (args[i] == "--n") {
      samples = parse_count(args, i++);
    } else if (args[i] == "--replications") {
      replications = parse_count(args, i++);
    } else {
      throw Error("usage: vkmoe bench stats [lse] [--quick] [--n N] [--replications R]");
    }
  }
  config.sample_sizes = {samples};
  config.replications = replications;
  config.random_starts = 1;
  std::vector<stats::Dataset> datasets;
  const stats::LseBatch batch = stats::build_experiment_batch(config, datasets);

  vk::Context context;
  // Warm-up: pipeline creation (LLVM compiles on lavapipe) is not part of the rate.
  {
    stats::LseOptimiser warm = config.optimiser;
    warm.adam.iterations = 1;
    warm.refine.iterations = 1;
    stats::fit_batch_gpu(context, batch, warm);
  }
  auto start = std::chrono::steady_clock::now();
  const stats::LseBatchResult gpu = stats::fit_batch_gpu(context, batch, config.optimiser);
  const double gpu_seconds = seconds(start);
  start = std::chrono::steady_clock::now();
  const stats::LseBatchResult cpu = stats::fit_batch_cpu(batch, config.optimiser);
  const double cpu_seconds = seconds(start);

  double worst = 0;  // objectives should agree: the same optimiser on the same problems
  for (size_t i = 0; i < gpu.objective.size(); ++i) {
    worst = std::max(worst, std::abs(gpu.objective[i] - cpu.objective[i]) / cpu.objective[i]);
  }
  const double fits = batch.problems();
  std::printf(
      "lse fits: sigmoid experts, k = 3 (k* = 2), d = 1, n = %u, %u problems, Adam %u + "
      "LM %u iterations\n",
      samples, batch.problems(), config.optimiser.adam.iterations,
      config.optimiser.refine.iterations);
  std::printf("%-34s %10s %10s\n", "implementation", "seconds", "fits/s");
  std::printf("%-34s %10.3f %10.2f\n", ("gpu: " + context.info().name).c_str(), gpu_seconds,
              fits / gpu_seconds);
  std::printf("%-34s %10.3f %10.2f\n", "cpu: single-thread reference", cpu_seconds,
              fits / cpu_seconds);
  std::printf("gpu / cpu fits per second: %.2fx   (largest relative objective difference %.2g)\n",
              cpu_seconds / gpu_seconds, worst);
  return 0;
}

}  // namespace

int run_bench_stats(std::span<const std::string> args) {
  if (!args.empty() && args[0] == "lse") return run_bench_stats_lse(args.subspan(1));
  if (!args.empty() && args[0] == "hmc") return run_bench_stats_hmc(args.subspan(1));
  // Both halves; only --quick is shared (each half's own options need its name first).
  if (const int rc = run_bench_stats_lse(args); rc != 0) return rc;
  std::printf("\n");
  return run_bench_stats_hmc(args);
}

}  // namespace vkmoe::cli
