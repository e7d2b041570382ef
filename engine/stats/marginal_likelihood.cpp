#include "engine/stats/marginal_likelihood.h"

#include <algorithm>
#include <cmath>

#include "engine/stats/bayes_density.h"
#include "engine/stats/mcmc_diagnostics.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

std::vector<double> temperature_ladder(uint32_t rungs, double power) {
  if (rungs < 2 || !(power > 0)) throw Error("evidence: needs 2 or more rungs and power > 0");
  std::vector<double> t(rungs);
  for (uint32_t j = 0; j < rungs; ++j) t[j] = std::pow(double(j) / double(rungs - 1), power);
  return t;
}

double thermodynamic_integral(const std::vector<double>& t, const std::vector<double>& mean,
                              const std::vector<double>& variance) {
  if (t.size() < 2 || mean.size() != t.size() || variance.size() != t.size()) {
    throw Error("evidence: rungs, means and variances must match (2 or more)");
  }
  double total = 0;
  for (size_t j = 0; j + 1 < t.size(); ++j) {
    const double h = t[j + 1] - t[j];
    total += h * (mean[j] + mean[j + 1]) / 2 - h * h * (variance[j + 1] - variance[j]) / 12;
  }
  return total;
}

EvidenceEstimate log_evidence_ti(vk::Context& context, const HmcProblem& problem,
                                 const EvidenceSettings& settings) {
  if (problem.data == nullptr || !problem.data_sets.empty()) {
    throw Error("evidence: one data set (problem.data)");
  }
  const uint32_t per_rung = settings.hmc.chains;
  if (per_rung < 1) throw Error("evidence: at least one chain per rung");
  const std::vector<double> ladder = temperature_ladder(settings.temperatures, settings.power);
  HmcProblem tempered = problem;
  tempered.temperatures.clear();
  for (double t : ladder) tempered.temperatures.insert(tempered.temperatures.end(), per_rung, t);
  HmcSettings hmc = settings.hmc;
  hmc.chains = per_rung * settings.temperatures;
  const PosteriorDraws draws = sample_posterior_gpu(context, tempered, hmc);

  // Only the likelihood: every parameter masked out of the prior.
  const std::vector<uint8_t> none(problem.model.parameters(), 0);
  EvidenceEstimate out;
  out.temperature = ladder;
  std::vector<double> weight(ladder.size(), 0.0);
  for (size_t j = 0; j + 1 < ladder.size(); ++j) {
    weight[j] += (ladder[j + 1] - ladder[j]) / 2;
    weight[j + 1] += (ladder[j + 1] - ladder[j]) / 2;
  }
  double error_variance = 0;
  for (uint32_t j = 0; j < settings.temperatures; ++j) {
    std::vector<double> values;  // chain-major, as the diagnostics take them
    for (uint32_t c = j * per_rung; c < (j + 1) * per_rung; ++c) {
      for (uint32_t t = 0; t < draws.draws; ++t) {
        const std::span<const double> theta(
            draws.values.data() + (size_t{c} * draws.draws + t) * draws.parameters,
            draws.parameters);
        values.push_back(log_posterior(problem.model, *problem.data, theta, none));
      }
    }
    double mean = 0, variance = 0;
    for (double v : values) mean += v / double(values.size());
    for (double v : values) variance += (v - mean) * (v - mean) / double(values.size() - 1);
    const double ess = draws.draws >= 4 ? std::max(1.0, basic_ess(values, per_rung)) : 1.0;
    out.mean_log_likelihood.push_back(mean);
    out.variance_log_likelihood.push_back(variance);
    out.ess.push_back(ess);
    error_variance += weight[j] * weight[j] * variance / ess;
  }
  out.log_evidence =
      thermodynamic_integral(ladder, out.mean_log_likelihood, out.variance_log_likelihood);
  out.standard_error = std::sqrt(error_variance);
  return out;
}

}  // namespace vkmoe::stats
