// `vkmoe bench kernels`: every registered kernel case beside the two peak probes, as a table
// or JSON, each with its fraction of the relevant peak.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/ops/peak_probe.h"
#include "engine/vk/device_info.h"
#include "engine/vk/error.h"
#include "tools/bench/bench_case.h"
#include "tools/command.h"

namespace vkmoe::cli {

namespace {

struct CaseResult {
  const bench::BenchCase* bench_case;
  double mean_us = 0, sd_us = 0, min_us = 0;
  double gflops = 0, gbps = 0, fraction = 0;
};

CaseResult run_case(vk::Context& context, const bench::BenchCase& c, int repetitions) {
  vk::Stream stream(context);
  auto run = c.prepare(context, stream);
  stream.finish();
  std::vector<double> times_ns;
  for (int r = 0; r <= repetitions; ++r) {  // r == 0 warms up
    context.profiler().clear();
    run(stream);
    stream.finish();
    double ns = 0;
    for (const vk::KernelStats& row : context.profiler().rows()) ns += row.total_ns;
    if (r > 0) times_ns.push_back(ns);
  }
  context.profiler().clear();
  CaseResult result{&c};
  double sum = 0;
  for (double t : times_ns) sum += t;
  const double mean = sum / double(times_ns.size());
  double var = 0;
  for (double t : times_ns) var += (t - mean) * (t - mean);
  result.mean_us = mean / 1e3;
  // The best repetition: the probes keep their best too, and on a loaded machine it is the
  // figure least moved by time slices lost to other processes.
  result.min_us = *std::min_element(times_ns.begin(), times_ns.end()) / 1e3;
  result.sd_us = times_ns.size() > 1 ? std::sqrt(var / double(times_ns.size() - 1)) / 1e3 : 0;
  result.gflops = mean > 0 ? c.flops / mean : 0;
  result.gbps = mean > 0 ? c.bytes / mean : 0;
  return result;
}

}  // namespace

int run_bench_kernels(std::span<const std::string> args) {
  bool json = false, quick = false;
  int repetitions = 5;
  std::string filter;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--quick") {
      quick = true;
    } else if ((args[i] == "-r" || args[i] == "--repetitions") && i + 1 < args.size()) {
      repetitions = std::stoi(args[++i]);
      if (repetitions < 1) throw Error("-r needs a positive count");
    } else if (args[i] == "--filter" && i + 1 < args.size()) {
      filter = args[++i];
    } else {
      throw Error("bench kernels: unknown option '" + args[i] +
                  "' (options: --json, --quick, -r N, --filter TEXT)");
    }
  }
  vk::ContextOptions options;
  options.profiling = 1;
  vk::Context context(options);
  // The peaks are probed before and after the kernels and the better of each kept, so a
  // device still clocking up (or a moment of load) does not make every fraction look better.
  ops::PeakRates peaks = ops::measure_peaks(context, repetitions, quick);

  const std::vector<bench::BenchCase> cases = bench::all_cases(quick);
  std::vector<CaseResult> results;
  for (const bench::BenchCase& c : cases) {
    if (!filter.empty() && c.kernel.find(filter) == std::string::npos) continue;
    if (c.available && !c.available(context.info())) continue;
    if (!json) std::fprintf(stderr, "running %s %s...\n", c.kernel.c_str(), c.shape.c_str());
    results.push_back(run_case(context, c, repetitions));
  }
  const ops::PeakRates after = ops::measure_peaks(context, repetitions, quick);
  peaks.fma_gflops = std::max(peaks.fma_gflops, after.fma_gflops);
  peaks.copy_gbps = std::max(peaks.copy_gbps, after.copy_gbps);
  for (CaseResult& r : results) {
    r.fraction = r.bench_case->bound == bench::Bound::compute ? r.gflops / peaks.fma_gflops
                                                              : r.gbps / peaks.copy_gbps;
  }

  if (json) {
    nlohmann::json out;
    out["device"] = vk::banner(context.info());
    out["repetitions"] = repetitions;
    out["peaks"] = {{"fma_gflops", peaks.fma_gflops}, {"copy_gbps", peaks.copy_gbps}};
    out["kernels"] = nlohmann::json::array();
    for (const CaseResult& r : results) {
      out["kernels"].push_back(
          {{"kernel", r.bench_case->kernel},
           {"shape", r.bench_case->shape},
           {"bound", r.bench_case->bound == bench::Bound::compute ? "compute" : "memory"},
           {"us_mean", r.mean_us},
           {"us_sd", r.sd_us},
           {"us_min", r.min_us},
           {"gflops", r.gflops},
           {"gbps", r.gbps},
           {"fraction_of_peak", r.fraction}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("device: %s\n", vk::banner(context.info()).c_str());
    std::printf("peak: fma probe %.1f GFLOP/s, copy probe %.1f GB/s (best of %d)\n\n",
                peaks.fma_gflops, peaks.copy_gbps, repetitions);
    std::printf("| %-14s | %-18s | %21s | %9s | %8s | %-14s |\n", "kernel", "shape",
                "time us (mean ± sd)", "GFLOP/s", "GB/s", "% of peak");
    std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(16, '-').c_str(), std::string(20, '-').c_str(),
                std::string(23, '-').c_str(), std::string(11, '-').c_str(),
                std::string(10, '-').c_str(), std::string(16, '-').c_str());
    for (const CaseResult& r : results) {
      char time[64];
      std::snprintf(time, sizeof time, "%.1f ± %.1f", r.mean_us, r.sd_us);
      char fraction[64];
      std::snprintf(fraction, sizeof fraction, "%5.1f%% %s", 100.0 * r.fraction,
                    r.bench_case->bound == bench::Bound::compute ? "(fma)" : "(copy)");
      std::printf("| %-14s | %-18s | %21s | %9.2f | %8.2f | %-14s |\n",
                  r.bench_case->kernel.c_str(), r.bench_case->shape.c_str(), time, r.gflops, r.gbps,
                  fraction);
    }
  }
  return context.validation_message_count() == 0 ? 0 : 1;
}

}  // namespace vkmoe::cli
