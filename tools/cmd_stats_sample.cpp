// `vkmoe stats sample`: posterior sampling for the Bayesian softmax-gated Gaussian MoE on the
// GPU (engine/stats/bayes_hmc.h), with a per-parameter summary after relabelling.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "engine/stats/posterior_summary.h"
#include "engine/stats/rate_study.h"
#include "engine/stats/regression_spec.h"
#include "engine/stats/relabel.h"
#include "engine/stats/simulate.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "tools/command_options.h"
#include "tools/hmc_flags.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kUsage =
    "usage: vkmoe stats sample --spec FILE --n N [--k K] [--chains 4] [--warmup 500] [--draws "
    "500]\n"
    "                          [--leapfrog 8] [--seed 1] [--out FILE.csv]\n"
    "                          [--gate-sd 5] [--expert-sd 5] [--noise-shape 2] [--noise-scale "
    "0.01]\n"
    "  Simulates n samples of the Gaussian mixture of experts of the spec (its noise_sigma for\n"
    "  every expert; seed S, replication 0), samples the posterior of a\n"
    "  k-expert model (default: the spec's k*) with HMC chains on the GPU, relabels every draw\n"
    "  to a reference (the truth when k = k*, else the highest-density draw) and prints mean,\n"
    "  sd, 5%/95% quantiles, rank-normalised split R-hat and bulk ESS per parameter. --out writes\n"
    "  the relabelled draws as CSV.";

std::string draws_csv(const stats::BayesMoe& model, const stats::PosteriorDraws& draws) {
  std::string csv = "chain,draw,log_density,accept,divergent";
  for (const std::string& name : stats::parameter_names(model)) csv += "," + name;
  csv += "\n";
  char cell[96];
  for (uint32_t c = 0; c < draws.chains; ++c) {
    for (uint32_t t = 0; t < draws.draws; ++t) {
      const size_t at = size_t{c} * draws.draws + t;
      std::snprintf(cell, sizeof(cell), "%u,%u,%.9g,%.6g,%u", c, t, draws.log_density[at],
                    draws.accept[at], unsigned{draws.divergent[at]});
      csv += cell;
      for (uint32_t q = 0; q < draws.parameters; ++q) {
        std::snprintf(cell, sizeof(cell), ",%.9g", draws.value(c, t, q));
        csv += cell;
      }
      csv += "\n";
    }
  }
  return csv;
}

}  // namespace

int run_stats_sample(std::span<const std::string> args) {
  std::string spec_path, n, k, out, gate_sd = "5", expert_sd = "5", shape = "2", scale = "0.01";
  HmcFlags hmc{.chains = "4", .warmup = "500", .draws = "500"};
  std::vector<ValueOption> options = {{"--spec", &spec_path},
                                      {"--n", &n},
                                      {"--k", &k},
                                      {"--out", &out},
                                      {"--gate-sd", &gate_sd},
                                      {"--expert-sd", &expert_sd},
                                      {"--noise-shape", &shape},
                                      {"--noise-scale", &scale}};
  hmc.add_options(options);
  if (auto stop = parse_option_table("stats sample", kUsage, args, options)) {
    return *stop;
  }
  if (auto stop =
          check_required("stats sample", kUsage, {{&spec_path, "--spec FILE"}, {&n, "--n N"}})) {
    return *stop;
  }
  const stats::RegressionSpec spec = stats::load_regression_spec(spec_path);
  const stats::HmcSettings settings = parse_hmc_flags(hmc);
  if (settings.draws < 4) throw Error("--draws must be at least 4 (split R-hat)");
  const uint32_t samples = static_cast<uint32_t>(parse_whole("--n", n));
  if (samples == 0) throw Error("--n must be at least 1");

  stats::HmcProblem problem;
  problem.model = stats::model_for_spec(
      spec, k.empty() ? 0 : static_cast<uint32_t>(parse_whole("--k", k)),
      {parse_positive("--gate-sd", gate_sd), parse_positive("--expert-sd", expert_sd),
       parse_positive("--noise-shape", shape), parse_positive("--noise-scale", scale)});
  const stats::BayesMoe& model = problem.model;
  const stats::Dataset data = stats::simulate_mixture(spec, samples, 0, settings.seed);
  problem.data = &data;

  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  const stats::PosteriorDraws raw = stats::sample_posterior_gpu(context, problem, settings);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const bool truth_known = model.experts == spec.truth.experts();
  const std::vector<double> truth =
      truth_known ? stats::truth_parameters(model, spec) : std::vector<double>{};
  const std::vector<double> reference = truth_known ? truth : stats::highest_density_draw(raw);
  const stats::Relabelled relabelled = stats::relabel_draws(model, raw, reference);
  const std::vector<stats::ParameterSummary> table =
      stats::summarise_draws(model, relabelled.draws, stats::default_free_mask(model));

  double accept = 0;
  uint64_t divergent = 0;
  for (size_t i = 0; i < raw.accept.size(); ++i) {
    accept += raw.accept[i] / static_cast<double>(raw.accept.size());
    divergent += raw.divergent[i];
  }
  std::printf(
      "%s experts, k = %u (k* = %u), n = %u: %u chains x %u draws after %u warm-up "
      "(%u leapfrog steps), %.2f s on %s\n",
      std::string(stats::family_name(model.family)).c_str(), model.experts, spec.truth.experts(),
      samples, settings.chains, settings.draws, settings.warmup, settings.leapfrog_steps, elapsed,
      context.info().name.c_str());
  std::printf("step size");
  for (double s : raw.step_size) std::printf(" %.4g", s);
  std::printf("; mean acceptance %.3f; divergent transitions %llu\n", accept,
              static_cast<unsigned long long>(divergent));
  std::printf("relabelled %llu of %zu draws to the %s\n",
              static_cast<unsigned long long>(relabelled.permuted_draws), raw.log_density.size(),
              truth_known ? "truth" : "highest-density draw");
  std::printf("%-16s %9s %9s %9s %9s %9s %7s %9s\n", "parameter", truth_known ? "truth" : "",
              "mean", "sd", "5%", "95%", "R-hat", "ESS_bulk");
  for (const stats::ParameterSummary& s : table) {
    std::string truth_cell;
    if (truth_known) {
      const bool variance = s.name.rfind("sigma", 0) == 0;
      char cell[32];
      std::snprintf(cell, sizeof(cell), "%.4f",
                    variance ? std::exp(0.5 * truth[s.index]) : truth[s.index]);
      truth_cell = cell;
    }
    std::printf("%-16s %9s %9.4f %9.4f %9.4f %9.4f %7.3f %9.1f\n", s.name.c_str(),
                truth_cell.c_str(), s.mean, s.sd, s.q05, s.q95, s.rhat, s.ess_bulk);
  }
  if (!out.empty()) {
    stats::write_file_atomically(out, draws_csv(model, relabelled.draws));
    std::printf("wrote %s\n", out.c_str());
  }
  return 0;
}

}  // namespace vkmoe::cli
