// `vkmoe stats choose-k`: the posterior over the number of experts K from per-K evidences
// (thermodynamic integration on the GPU, engine/stats/choose_k.h), across replications and
// sample sizes, and how often its mode recovers the spec's k*.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "engine/stats/choose_k.h"
#include "engine/stats/simulate.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "tools/command_options.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe stats choose-k --spec FILE [--n 200[,N...]] [--replications 3] [--k-max 4]\n"
    "                            [--prior poisson|geometric] [--prior-parameter 1]\n"
    "                            [--temperatures 16] [--chains 2] [--warmup 200] [--draws 200]\n"
    "                            [--leapfrog 8] [--seed 1]\n"
    "  For each n and replication, simulates n samples of the spec's Gaussian mixture, estimates\n"
    "  log p(data | K) for K = 1..K_max by thermodynamic integration (--temperatures rungs of\n"
    "  --chains HMC chains each, on the GPU) and prints p(K | data) under a truncated Poisson\n"
    "  (mean --prior-parameter) or geometric (success probability --prior-parameter) prior on K,\n"
    "  then how often the posterior mode is k*.";

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
                         parameter = "1", temperatures = "16", chains = "2", warmup = "200",
                         draws = "200", leapfrog = "8", seed = "1";
  if (auto stop = parse_options("stats choose-k", kUsage, args,
                                {{"--spec", &spec_path},
                                 {"--n", &n},
                                 {"--replications", &replications},
                                 {"--k-max", &k_max},
                                 {"--prior", &prior},
                                 {"--prior-parameter", &parameter},
                                 {"--temperatures", &temperatures},
                                 {"--chains", &chains},
                                 {"--warmup", &warmup},
                                 {"--draws", &draws},
                                 {"--leapfrog", &leapfrog},
                                 {"--seed", &seed}})) {
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
  settings.hmc.chains = whole("--chains", chains);
  settings.hmc.warmup = whole("--warmup", warmup);
  settings.hmc.draws = whole("--draws", draws);
  settings.hmc.leapfrog_steps = whole("--leapfrog", leapfrog);
  settings.hmc.seed = whole("--seed", seed);
  const uint32_t reps = whole("--replications", replications), k_star = spec.truth.experts();

  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  std::printf("%s experts, k* = %u, prior on K: %s(%g) on 1..%u; %u rungs x %u chains, %u + %u\n",
              std::string(stats::family_name(spec.truth.family)).c_str(), k_star, prior.c_str(),
              k_prior.parameter, k_prior.k_max, settings.temperatures, settings.hmc.chains,
              settings.hmc.warmup, settings.hmc.draws);
  std::printf("%8s %4s", "n", "rep");
  for (uint32_t k = 1; k <= k_prior.k_max; ++k) std::printf("   logZ(K=%u)    se", k);
  std::printf("  p(K=k*|data)  mode\n");
  std::map<uint32_t, uint32_t> recovered;
  for (uint32_t samples : sizes(n)) {
    for (uint32_t r = 0; r < reps; ++r) {
      const stats::Dataset data = stats::simulate_mixture(spec, samples, r, settings.hmc.seed);
      const stats::KPosterior post =
          stats::choose_k_by_evidence(context, spec, data, {}, k_prior, settings);
      std::printf("%8u %4u", samples, r);
      for (uint32_t k = 0; k < k_prior.k_max; ++k) {
        std::printf(" %12.3f %5.2f", post.log_evidence[k], post.standard_error[k]);
      }
      const double p_star = k_star <= k_prior.k_max ? post.probability[k_star - 1] : 0.0;
      std::printf(" %13.4f %5u\n", p_star, post.map_k);
      recovered[samples] += post.map_k == k_star ? 1 : 0;
    }
  }
  for (const auto& [samples, count] : recovered) {
    std::printf("n = %u: posterior mode = k* in %u of %u replications\n", samples, count, reps);
  }
  std::printf("%.1f s on %s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              context.info().name.c_str());
  return 0;
}

}  // namespace vkmoe::cli
