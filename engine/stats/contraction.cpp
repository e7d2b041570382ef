#include "engine/stats/contraction.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "engine/stats/counter_rng.h"
#include "engine/stats/hellinger.h"
#include "engine/stats/simulate.h"
#include "engine/stats/voronoi_loss.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

std::vector<ContractionRecord> run_contraction(vk::Context& context,
                                               const ContractionConfig& config) {
  if (config.replications == 0 || config.chains == 0 || config.sample_sizes.empty()) {
    throw Error("contraction: needs sample sizes, replications >= 1 and chains >= 1");
  }
  if (config.design_points == 0 || config.hellinger_draws == 0) {
    throw Error("contraction: design points and Hellinger draws must be at least 1");
  }
  const BayesMoe model = model_for_spec(config.spec, config.experts, config.prior);
  const BayesMoe truth_model = model_for_spec(config.spec, 0, config.prior);
  const std::vector<double> truth = truth_parameters(truth_model, config.spec);
  const std::vector<double> points =
      box_points(config.spec, config.design_points, config.hmc.seed ^ 0x48656c6cull);

  std::vector<ContractionRecord> records;
  for (uint32_t n : config.sample_sizes) {
    std::vector<Dataset> sets;
    for (uint32_t r = 0; r < config.replications; ++r) {
      sets.push_back(simulate_mixture(config.spec, n, r, config.hmc.seed));
    }
    HmcProblem problem;
    problem.model = model;
    for (const Dataset& set : sets) problem.data_sets.push_back(&set);
    HmcSettings settings = config.hmc;
    settings.chains = config.chains * config.replications;
    // Chains at different n must not share random numbers with each other.
    settings.seed = splitmix64(config.hmc.seed ^ (uint64_t{n} << 20));
    const auto start = std::chrono::steady_clock::now();
    const PosteriorDraws draws = sample_posterior_gpu(context, problem, settings);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const uint32_t per_replication = config.chains * draws.draws;
    const uint32_t stride = std::max(1u, per_replication / config.hellinger_draws);
    for (uint32_t r = 0; r < config.replications; ++r) {
      ContractionRecord record;
      record.samples = n;
      record.replication = r;
      record.seconds = seconds;
      uint32_t hellinger_count = 0;
      for (uint32_t i = 0; i < per_replication; ++i) {
        const uint32_t chain = r * config.chains + i / draws.draws, t = i % draws.draws;
        const std::span<const double> theta(
            draws.values.data() + (size_t{chain} * draws.draws + t) * draws.parameters,
            draws.parameters);
        record.voronoi += voronoi_loss(regression_atoms(model, theta), config.spec.truth).total();
        const size_t at = size_t{chain} * draws.draws + t;
        record.accept += draws.accept[at];
        record.divergent += draws.divergent[at];
        if (i % stride == 0 && hellinger_count < config.hellinger_draws) {
          record.hellinger += hellinger_distance(model, theta, truth_model, truth, points);
          ++hellinger_count;
        }
      }
      record.voronoi /= per_replication;
      record.accept /= per_replication;
      record.hellinger /= hellinger_count;
      records.push_back(record);
    }
  }
  return records;
}

std::vector<RateSeries> contraction_series(const std::vector<ContractionRecord>& records,
                                           ExpertFamily family, bool overfitted) {
  std::map<uint32_t, std::vector<double>> hellinger, voronoi;
  for (const ContractionRecord& r : records) {
    hellinger[r.samples].push_back(r.hellinger);
    voronoi[r.samples].push_back(r.voronoi);
  }
  // Bariletto et al.: the density contracts at the parametric rate (up to log n) for a fixed
  // k >= k*; the Voronoi loss inherits it when the experts are strongly identifiable (D1 at
  // k = k*, D2 with its squared over-fitted terms when k > k*).
  const bool strong = family == ExpertFamily::sigmoid || family == ExpertFamily::tanh;
  std::vector<RateSeries> out;
  if (auto s = summarise_rate("hellinger", "-1/2 (up to log n)", hellinger)) {
    out.push_back(std::move(*s));
  }
  if (auto s = summarise_rate(
          "voronoi_loss",
          strong ? (overfitted ? "-1/2 (D2)" : "-1/2 (D1)") : "slower for weakly identifiable",
          voronoi)) {
    out.push_back(std::move(*s));
  }
  return out;
}

void write_contraction_csv(const std::filesystem::path& path,
                           const std::vector<ContractionRecord>& records) {
  std::string text = "n,replication,hellinger,voronoi_loss,accept,divergent,seconds_of_n\n";
  char row[256];
  for (const ContractionRecord& r : records) {
    std::snprintf(row, sizeof(row), "%u,%u,%.9g,%.9g,%.6g,%llu,%.4g\n", r.samples, r.replication,
                  r.hellinger, r.voronoi, r.accept, static_cast<unsigned long long>(r.divergent),
                  r.seconds);
    text += row;
  }
  write_file_atomically(path, text);
}

}  // namespace vkmoe::stats
