// `vkmoe stats choose-k`: the number of experts K on the same simulated data sets by two
// strategies, across replications and sample sizes, and how often each recovers the spec's k*:
// (a) `ti`, the posterior over K from per-K evidences (thermodynamic integration on the GPU,
// engine/stats/choose_k.h); (b) `mtm`, an over-fitted K-bar under a sparsity prior on the
// mixing weights, then merge-truncate-merge of every draw (engine/stats/choose_k_mtm.h).
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "engine/stats/choose_k.h"
#include "engine/stats/choose_k_mtm.h"
#include "engine/stats/simulate.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "tools/command_options.h"
#include "tools/hmc_flags.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe stats choose-k --spec FILE [--n 200[,N...]] [--replications 3] [--k-max 4]\n"
    "                            [--prior poisson|geometric] [--prior-parameter 1]\n"
    "                            [--temperatures 16] [--chains 2] [--warmup 200] [--draws 200]\n"
    "                            [--leapfrog 8] [--seed 1] [--strategy ti|mtm|both]\n"
    "                            [--k-bar K_MAX] [--concentration 0.1] [--merge-scale 2]\n"
    "                            [--weight-scale 0.1]\n"
    "  For each n and replication, simulates n samples of the spec's Gaussian mixture and\n"
    "  chooses K on them by one or both strategies (default both):\n"
    "  ti:  log p(data | K) for K = 1..K_max by thermodynamic integration (--temperatures rungs\n"
    "       of --chains HMC chains each, on the GPU) and p(K | data) under a truncated Poisson\n"
    "       (mean --prior-parameter) or geometric (success probability --prior-parameter) prior;\n"
    "  mtm: --chains HMC chains of a model with --k-bar experts under a "
    "Dirichlet(--concentration)\n"
    "       prior on the mixing weights at x = 0, then merge-truncate-merge of every draw (merge\n"
    "       within --merge-scale (log n / n)^(1/4), truncate weights below --weight-scale times\n"
    "       its square); p(K) is the fraction of draws left with K atoms.\n"
    "  Then how often each posterior mode is k*, per n, side by side.";

std::vector<uint32_t> sizes(const std::string& text) {
  std::vector<uint32_t> out;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(static_cast<uint32_t>(parse_whole("--n", text.substr(start, comma - start))));
    if (out.back() == 0) throw Error("--n: sample sizes must be at least 1");
    start = comma + 1;
  }
  return out;
}

}  // namespace

int run_stats_choose_k(std::span<const std::string> args) {
  std::string spec_path, n = "200", replications = "3", k_max = "4", prior = "poisson",
                         parameter = "1", temperatures = "16", strategy = "both", k_bar,
                         concentration = "0.1", merge_scale = "2", weight_scale = "0.1";
  HmcFlags hmc{.chains = "2", .warmup = "200", .draws = "200"};
  std::vector<ValueOption> options = {{"--spec", &spec_path},
                                      {"--n", &n},
                                      {"--replications", &replications},
                                      {"--k-max", &k_max},
                                      {"--prior", &prior},
                                      {"--prior-parameter", &parameter},
                                      {"--temperatures", &temperatures},
                                      {"--strategy", &strategy},
                                      {"--k-bar", &k_bar},
                                      {"--concentration", &concentration},
                                      {"--merge-scale", &merge_scale},
                                      {"--weight-scale", &weight_scale}};
  hmc.add_options(options);
  if (auto stop = parse_option_table("stats choose-k", kUsage, args, options)) {
    return *stop;
  }
  if (auto stop = check_required("stats choose-k", kUsage, {{&spec_path, "--spec FILE"}})) {
    return *stop;
  }
  const auto whole = [](const char* flag, const std::string& text) {
    return static_cast<uint32_t>(parse_whole(flag, text));
  };
  const stats::RegressionSpec spec = stats::load_regression_spec(spec_path);
  stats::KPrior k_prior{stats::parse_k_prior(prior), parse_positive("--prior-parameter", parameter),
                        whole("--k-max", k_max)};
  stats::log_k_prior(k_prior);  // fails early on a bad prior
  stats::EvidenceSettings settings;
  settings.temperatures = whole("--temperatures", temperatures);
  settings.hmc = parse_hmc_flags(hmc);
  const uint32_t reps = whole("--replications", replications), k_star = spec.truth.experts();
  if (strategy != "ti" && strategy != "mtm" && strategy != "both") {
    throw Error("--strategy: ti, mtm or both, got '" + strategy + "'");
  }
  const bool ti = strategy != "mtm", mtm = strategy != "ti";
  stats::MtmChooseSettings mtm_settings;
  mtm_settings.k_bar = k_bar.empty() ? k_prior.k_max : whole("--k-bar", k_bar);
  mtm_settings.concentration = parse_positive("--concentration", concentration);
  mtm_settings.merge_scale = parse_positive("--merge-scale", merge_scale);
  mtm_settings.weight_scale = parse_positive("--weight-scale", weight_scale);
  mtm_settings.hmc = settings.hmc;

  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  std::printf("%s experts, k* = %u", std::string(stats::family_name(spec.truth.family)).c_str(),
              k_star);
  if (ti) {
    std::printf("; ti: prior on K %s(%g) on 1..%u, %u rungs x %u chains", prior.c_str(),
                k_prior.parameter, k_prior.k_max, settings.temperatures, settings.hmc.chains);
  }
  if (mtm) {
    std::printf("; mtm: K-bar = %u, Dirichlet(%g) weights, %u chains", mtm_settings.k_bar,
                mtm_settings.concentration, settings.hmc.chains);
  }
  std::printf("; %u + %u\n", settings.hmc.warmup, settings.hmc.draws);
  std::printf("%8s %4s", "n", "rep");
  if (ti) {
    for (uint32_t k = 1; k <= k_prior.k_max; ++k) std::printf("   logZ(K=%u)    se", k);
    std::printf("  p_ti(k*) mode_ti");
  }
  if (mtm) std::printf("  omega_n  min_wt p_mtm(k*) mode_mtm");
  std::printf("\n");
  std::map<uint32_t, uint32_t> recovered_ti, recovered_mtm;
  for (uint32_t samples : sizes(n)) {
    for (uint32_t r = 0; r < reps; ++r) {
      const stats::Dataset data = stats::simulate_mixture(spec, samples, r, settings.hmc.seed);
      std::printf("%8u %4u", samples, r);
      if (ti) {
        const stats::KPosterior post =
            stats::choose_k_by_evidence(context, spec, data, {}, k_prior, settings);
        for (uint32_t k = 0; k < k_prior.k_max; ++k) {
          std::printf(" %12.3f %5.2f", post.log_evidence[k], post.standard_error[k]);
        }
        const double p_star = k_star <= k_prior.k_max ? post.probability[k_star - 1] : 0.0;
        std::printf(" %9.4f %7u", p_star, post.map_k);
        recovered_ti[samples] += post.map_k == k_star ? 1 : 0;
      }
      if (mtm) {
        const stats::MtmChoice choice =
            stats::choose_k_by_mtm(context, spec, data, {}, mtm_settings);
        const std::vector<double>& p = choice.posterior.probability;
        const double p_star = k_star <= p.size() ? p[k_star - 1] : 0.0;
        std::printf(" %8.3f %7.4f %9.4f %8u", choice.thresholds.merge_distance,
                    choice.thresholds.min_weight, p_star, choice.posterior.mode_k);
        recovered_mtm[samples] += choice.posterior.mode_k == k_star ? 1 : 0;
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf("recovery of k* = %u (posterior mode of K), per n:\n%8s %12s %12s\n", k_star, "n",
              "ti", "mtm");
  for (uint32_t samples : sizes(n)) {
    const auto rate = [&](bool on, std::map<uint32_t, uint32_t>& counts) {
      return on ? std::to_string(counts[samples]) + "/" + std::to_string(reps) : std::string("-");
    };
    std::printf("%8u %12s %12s\n", samples, rate(ti, recovered_ti).c_str(),
                rate(mtm, recovered_mtm).c_str());
  }
  std::printf("%.1f s on %s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              context.info().name.c_str());
  return 0;
}

}  // namespace vkmoe::cli
