#include "engine/stats/bayes_hmc_cpu.h"

#include <algorithm>
#include <cmath>

#include "engine/stats/bayes_density.h"
#include "engine/stats/counter_rng.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// One chain's sampler state.
struct Chain {
  std::vector<double> theta, gradient, momentum, inverse_metric, running_mean, running_m2;
  double log_density = 0;
  double running_count = 0;
  // Dual averaging (Hoffman & Gelman 2014, algorithm 5).
  double log_step = 0, anchor = 0, adapt_count = 0, error_average = 0, log_step_average = 0;
};

double kinetic_energy(const Chain& c) {
  double sum = 0;
  for (size_t q = 0; q < c.momentum.size(); ++q) {
    sum += c.inverse_metric[q] * c.momentum[q] * c.momentum[q];
  }
  return 0.5 * sum;
}

}  // namespace

PosteriorDraws sample_posterior_cpu(const HmcProblem& problem, const HmcSettings& settings) {
  if (settings.leapfrog_steps == 0 || settings.draws == 0 || settings.chains == 0) {
    throw Error("hmc (cpu): chains, leapfrog steps and draws must be at least 1");
  }
  if (!problem.temperatures.empty()) {
    throw Error("hmc (cpu): power posteriors (temperatures) are sampled on the GPU only");
  }
  const std::vector<double> start = initial_positions(problem, settings);
  const std::vector<const Dataset*> sets = chain_data_sets(problem);
  if (settings.chains % sets.size() != 0) {
    throw Error("hmc (cpu): chains must be a multiple of the number of data sets");
  }
  const BayesMoe& model = problem.model;
  const uint32_t p = model.parameters(), chains = settings.chains;
  const std::vector<uint8_t> free = problem.free.empty() ? default_free_mask(model) : problem.free;
  const uint32_t warmup = settings.warmup;
  const bool metric = warmup >= 20;
  const uint32_t window_begin = warmup * 15 / 100, window_end = warmup * 90 / 100;

  PosteriorDraws out;
  out.chains = chains;
  out.draws = settings.draws;
  out.parameters = p;
  out.values.resize(size_t{chains} * settings.draws * p);
  out.log_density.resize(size_t{chains} * settings.draws);
  out.accept.resize(out.log_density.size());
  out.divergent.resize(out.log_density.size());

  for (uint32_t chain = 0; chain < chains; ++chain) {
    const Dataset& data = *sets[chain / (chains / sets.size())];
    Chain c;
    c.theta.assign(start.begin() + size_t{chain} * p, start.begin() + size_t{chain + 1} * p);
    c.gradient.assign(p, 0.0);
    c.momentum.assign(p, 0.0);
    c.inverse_metric.assign(p, 1.0);
    c.running_mean.assign(p, 0.0);
    c.running_m2.assign(p, 0.0);
    c.log_density = log_posterior(model, data, c.theta, free, c.gradient);
    c.log_step = std::log(settings.initial_step);
    c.anchor = std::log(10.0 * settings.initial_step);

    for (uint32_t t = 0; t < warmup + settings.draws; ++t) {
      const CounterRng rng(settings.seed, (uint64_t{chain} << 32) ^ t ^ 0x48430000000000ull);
      const std::vector<double> start_theta = c.theta, start_gradient = c.gradient;
      const double start_log_density = c.log_density;
      for (uint32_t q = 0; q < p; ++q) {
        c.momentum[q] = free[q] ? rng.normal(q) / std::sqrt(c.inverse_metric[q]) : 0.0;
      }
      const double start_energy = kinetic_energy(c) - c.log_density;
      const double step = std::exp(c.log_step);
      const uint32_t steps =
          1 +
          std::min(settings.leapfrog_steps - 1,
                   static_cast<uint32_t>(rng.uniform(2 * uint64_t{p}) * settings.leapfrog_steps));
      for (uint32_t l = 0; l < steps; ++l) {
        for (uint32_t q = 0; q < p; ++q) {
          c.momentum[q] += 0.5 * step * c.gradient[q];
          c.theta[q] += step * c.inverse_metric[q] * c.momentum[q];
        }
        c.log_density = log_posterior(model, data, c.theta, free, c.gradient);
        for (uint32_t q = 0; q < p; ++q) c.momentum[q] += 0.5 * step * c.gradient[q];
      }
      const double change = start_energy - (kinetic_energy(c) - c.log_density);
      const bool divergent = !(change > -1000.0);
      const double accept = divergent ? 0.0 : std::min(1.0, std::exp(change));
      if (!(rng.uniform(2 * uint64_t{p} + 1) < accept)) {
        c.theta = start_theta;
        c.gradient = start_gradient;
        c.log_density = start_log_density;
      }
      if (t < warmup) {
        const double m = ++c.adapt_count, weight = 1.0 / (m + settings.t0);
        c.error_average =
            (1.0 - weight) * c.error_average + weight * (settings.target_accept - accept);
        c.log_step = c.anchor - std::sqrt(m) / settings.gamma * c.error_average;
        const double eta = std::pow(m, -settings.kappa);
        c.log_step_average = eta * c.log_step + (1.0 - eta) * c.log_step_average;
        if (metric && t >= window_begin && t < window_end) {
          const double n = ++c.running_count;
          for (uint32_t q = 0; q < p; ++q) {
            const double delta = c.theta[q] - c.running_mean[q];
            c.running_mean[q] += delta / n;
            c.running_m2[q] += delta * (c.theta[q] - c.running_mean[q]);
          }
        }
        if (metric && t + 1 == window_end) {
          const double n = c.running_count;
          for (uint32_t q = 0; q < p; ++q) {
            const double variance = n > 1 ? c.running_m2[q] / (n - 1) : 1.0;
            c.inverse_metric[q] = (n / (n + 5)) * variance + 1e-3 * (5 / (n + 5));
          }
          c.anchor = std::log(10.0) + c.log_step;
          c.adapt_count = c.error_average = c.log_step_average = 0;
        }
        if (t + 1 == warmup) c.log_step = c.log_step_average;
      } else {
        const size_t at = size_t{chain} * settings.draws + (t - warmup);
        std::copy(c.theta.begin(), c.theta.end(), out.values.begin() + at * p);
        out.log_density[at] = c.log_density;
        out.accept[at] = accept;
        out.divergent[at] = divergent;
      }
    }
    out.step_size.push_back(std::exp(c.log_step));
  }
  return out;
}

}  // namespace vkmoe::stats
