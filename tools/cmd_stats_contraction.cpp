// `vkmoe stats contraction`: posterior contraction of the Bayesian MoE over a log grid of n
// (engine/stats/contraction.h): posterior mean Hellinger distance and Voronoi loss per
// replication, their log-log slopes with 95% intervals, CSV and SVG.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/stats/contraction.h"
#include "engine/stats/power_law_fit.h"
#include "engine/stats/rate_plot.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "tools/command_options.h"
#include "tools/hmc_flags.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe stats contraction --spec FILE [--k K] [--n-min 200] [--n-max 3200] [--points 5]\n"
    "                               [--replications 4] [--chains 2] [--warmup 300] [--draws 200]\n"
    "                               [--leapfrog 8] [--seed 1] [--out DIR] [--design-points 200]\n"
    "                               [--hellinger-draws 100]\n"
    "  For each n on a log grid and each replication, simulates n samples of the spec's Gaussian\n"
    "  mixture, samples the posterior of a k-expert model (default k*) on the GPU (all\n"
    "  replications of one n in one run, --chains chains each) and reports the posterior mean\n"
    "  Hellinger distance between fitted and true p(y|x) and the posterior mean Voronoi loss,\n"
    "  with fitted log-log slopes. Writes DIR/contraction.csv (per replication),\n"
    "  DIR/contraction_rates.csv and DIR/contraction.svg.";

}  // namespace

int run_stats_contraction(std::span<const std::string> args) {
  std::string spec_path, k, n_min = "200", n_max = "3200", points = "5", replications = "4",
                            out = "contraction", design = "200", hellinger_draws = "100";
  HmcFlags hmc{.chains = "2", .warmup = "300", .draws = "200"};
  std::vector<ValueOption> options = {{"--spec", &spec_path},
                                      {"--k", &k},
                                      {"--n-min", &n_min},
                                      {"--n-max", &n_max},
                                      {"--points", &points},
                                      {"--replications", &replications},
                                      {"--out", &out},
                                      {"--design-points", &design},
                                      {"--hellinger-draws", &hellinger_draws}};
  hmc.add_options(options);
  if (auto stop = parse_option_table("stats contraction", kUsage, args, options)) {
    return *stop;
  }
  if (auto stop = check_required("stats contraction", kUsage, {{&spec_path, "--spec FILE"}})) {
    return *stop;
  }
  const auto whole = [](const char* flag, const std::string& text) {
    return static_cast<uint32_t>(parse_whole(flag, text));
  };
  stats::ContractionConfig config;
  config.spec = stats::load_regression_spec(spec_path);
  config.experts = k.empty() ? 0 : whole("--k", k);
  config.sample_sizes =
      stats::log_grid(whole("--n-min", n_min), whole("--n-max", n_max), whole("--points", points));
  config.replications = whole("--replications", replications);
  config.hmc = parse_hmc_flags(hmc);  // contraction sets the chain count itself, from:
  config.chains = config.hmc.chains;
  config.design_points = whole("--design-points", design);
  config.hellinger_draws = whole("--hellinger-draws", hellinger_draws);
  const uint32_t k_used = config.experts == 0 ? config.spec.truth.experts() : config.experts;

  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<stats::ContractionRecord> records = stats::run_contraction(context, config);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<stats::RateSeries> series = stats::contraction_series(
      records, config.spec.truth.family, k_used > config.spec.truth.experts());

  const std::filesystem::path dir = out;
  std::filesystem::create_directories(dir);
  const std::string title = std::string(stats::family_name(config.spec.truth.family)) +
                            " experts, k* = " + std::to_string(config.spec.truth.experts()) +
                            ", k = " + std::to_string(k_used) + ", posterior means over " +
                            std::to_string(config.replications) + " replications";
  stats::write_contraction_csv(dir / "contraction.csv", records);
  if (!series.empty()) {
    stats::write_rates_csv(dir / "contraction_rates.csv", series);
    stats::write_rate_plot(dir / "contraction.svg", series, title);
  }
  std::printf("%s: %zu sizes x %u replications x %u chains, %u warm-up + %u draws, %.1f s on %s\n",
              title.c_str(), config.sample_sizes.size(), config.replications, config.chains,
              config.hmc.warmup, config.hmc.draws, elapsed, context.info().name.c_str());
  std::printf("%8s %4s %12s %12s %8s %9s\n", "n", "rep", "hellinger", "voronoi", "accept",
              "divergent");
  for (const stats::ContractionRecord& r : records) {
    std::printf("%8u %4u %12.5g %12.5g %8.3f %9llu\n", r.samples, r.replication, r.hellinger,
                r.voronoi, r.accept, static_cast<unsigned long long>(r.divergent));
  }
  std::fputs(stats::rate_table(series).c_str(), stdout);
  if (series.empty()) std::printf("fewer than 3 sizes: no slopes fitted\n");
  std::printf("wrote %s\n", (dir / "contraction.csv").string().c_str());
  return 0;
}

}  // namespace vkmoe::cli
