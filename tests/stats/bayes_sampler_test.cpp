// The GPU HMC sampler (engine/stats/bayes_hmc.h) on a conjugate toy whose posterior is known
// exactly: one linear expert with known noise variance is Bayesian linear regression with a
// Gaussian prior, posterior N(mu, S) with S^-1 = X^T X / s2 + I / tau^2, mu = S X^T y / s2.
// The single-thread CPU sampler (bayes_hmc_cpu.h) is held to the same posterior.
// Also: a seed reproduces the draws bit for bit, however transitions are cut into dispatches.
#include <cmath>
#include <numbers>

#include "engine/stats/bayes_density.h"
#include "engine/stats/bayes_hmc.h"
#include "engine/stats/bayes_hmc_cpu.h"
#include "engine/stats/marginal_likelihood.h"
#include "engine/stats/mcmc_diagnostics.h"
#include "engine/stats/posterior_summary.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

using stats::ExpertFamily;

constexpr double kNoiseVariance = 0.25, kPriorSd = 2.0;

struct Toy {
  stats::Dataset data;
  stats::HmcProblem problem;
  double mean[2];        // exact posterior mean of (a, b)
  double covariance[3];  // (aa, ab, bb)
};

Toy make_toy(uint32_t samples) {
  stats::RegressionSpec spec;
  spec.truth.family = ExpertFamily::linear;
  spec.truth.atoms = {{{0.0}, 0.0, {0.8}, -0.3}};
  spec.noise_sigma = std::sqrt(kNoiseVariance);
  Toy toy;
  toy.data = stats::simulate(spec, samples, 0, 5);
  stats::BayesMoe& model = toy.problem.model;
  model.family = ExpertFamily::linear;
  model.experts = 1;
  model.prior.expert_sd = kPriorSd;
  toy.problem.data = &toy.data;
  // Sampled: a and b. Fixed: the gate (K = 1) and log sigma^2 at its known value.
  toy.problem.free = {0, 0, 1, 1, 0};
  toy.problem.fixed = {0, 0, 0, 0, std::log(kNoiseVariance)};
  // The exact posterior from the float data the sampler sees.
  double sxx = 0, sx = 0, sxy = 0, sy = 0;
  for (uint32_t s = 0; s < samples; ++s) {
    const double x = toy.data.row(s)[0], y = toy.data.row(s)[1];
    sxx += x * x, sx += x, sxy += x * y, sy += y;
  }
  const double prior = 1 / (kPriorSd * kPriorSd);
  const double paa = sxx / kNoiseVariance + prior, pab = sx / kNoiseVariance,
               pbb = samples / kNoiseVariance + prior;
  const double det = paa * pbb - pab * pab;
  toy.covariance[0] = pbb / det, toy.covariance[1] = -pab / det, toy.covariance[2] = paa / det;
  const double ra = sxy / kNoiseVariance, rb = sy / kNoiseVariance;
  toy.mean[0] = toy.covariance[0] * ra + toy.covariance[1] * rb;
  toy.mean[1] = toy.covariance[1] * ra + toy.covariance[2] * rb;
  return toy;
}

class BayesSampler : public GpuTest {};

stats::HmcSettings toy_settings() {
  stats::HmcSettings settings;
  settings.chains = 8;
  settings.warmup = 300;
  settings.draws = 400;
  settings.leapfrog_steps = 6;
  settings.seed = 42;
  return settings;
}

// The draws of either sampler against the toy's exact posterior; `fixed_log_variance` is the
// known log sigma^2 as the sampler stores it (float on the GPU).
void expect_exact_posterior(const Toy& toy, const stats::PosteriorDraws& draws,
                            double fixed_log_variance) {
  ASSERT_EQ(draws.values.size(), size_t{8} * 400 * 5);
  double mean_accept = 0;
  for (double a : draws.accept) mean_accept += a / static_cast<double>(draws.accept.size());
  // Dual averaging aims at 0.8; the realised mean after warm-up lands near it.
  EXPECT_GT(mean_accept, 0.6);
  EXPECT_LT(mean_accept, 0.97);
  for (uint8_t d : draws.divergent) EXPECT_EQ(d, 0);

  for (uint32_t which = 0; which < 2; ++which) {
    const uint32_t q = 2 + which;
    const std::vector<double> x = stats::parameter_draws(draws, q);
    const double exact_mean = toy.mean[which];
    const double exact_var = toy.covariance[which == 0 ? 0 : 2];
    double mean = 0;
    for (double v : x) mean += v / static_cast<double>(x.size());
    std::vector<double> squares;
    double var = 0;
    for (double v : x) {
      squares.push_back((v - exact_mean) * (v - exact_mean));
      var += squares.back() / static_cast<double>(x.size());
    }
    // Tolerances from the draws' own Monte Carlo error: 4 standard errors, with the ESS of the
    // draws (mean) and of their squared deviations (variance; Var[(x-mu)^2] = 2 var^2 for a
    // Gaussian). A correct sampler fails one of these with probability ~1e-4 per seed; the seed
    // is fixed, so the outcome is reproducible.
    const double ess_mean = stats::basic_ess(x, draws.chains);
    const double ess_var = stats::basic_ess(squares, draws.chains);
    EXPECT_GT(ess_mean, 300.0) << "parameter " << q;
    EXPECT_NEAR(mean, exact_mean, 4 * std::sqrt(exact_var / ess_mean)) << "parameter " << q;
    EXPECT_NEAR(var, exact_var, 4 * exact_var * std::sqrt(2 / ess_var)) << "parameter " << q;
    EXPECT_LT(stats::rank_normalized_rhat(x, draws.chains), 1.01) << "parameter " << q;
  }
  // The fixed parameters never move.
  for (uint32_t c = 0; c < draws.chains; ++c) {
    for (uint32_t t = 0; t < draws.draws; t += 37) {
      EXPECT_EQ(draws.value(c, t, 0), 0.0);
      EXPECT_EQ(draws.value(c, t, 4), fixed_log_variance);
    }
  }
}

TEST_F(BayesSampler, ConjugateToyMatchesTheExactPosterior) {
  const Toy toy = make_toy(40);
  const stats::PosteriorDraws draws =
      stats::sample_posterior_gpu(context(), toy.problem, toy_settings());
  expect_exact_posterior(toy, draws,
                         static_cast<double>(static_cast<float>(std::log(kNoiseVariance))));
}

// The single-thread CPU sampler (the bench's baseline) on the same toy, same tolerances.
TEST(BayesSamplerCpu, ConjugateToyMatchesTheExactPosterior) {
  const Toy toy = make_toy(40);
  const stats::PosteriorDraws draws = stats::sample_posterior_cpu(toy.problem, toy_settings());
  expect_exact_posterior(toy, draws, std::log(kNoiseVariance));
  // Every draw's stored log density is the reference's at that draw.
  for (uint32_t c = 0; c < draws.chains; c += 3) {
    for (uint32_t t = 0; t < draws.draws; t += 53) {
      std::vector<double> theta(draws.parameters);
      for (uint32_t q = 0; q < draws.parameters; ++q) theta[q] = draws.value(c, t, q);
      EXPECT_DOUBLE_EQ(draws.log_density[size_t{c} * draws.draws + t],
                       stats::log_posterior(toy.problem.model, toy.data, theta, toy.problem.free));
    }
  }
}

TEST_F(BayesSampler, SeedReproducesTheDrawsBitForBitWhateverTheDispatchCut) {
  Toy toy = make_toy(30);
  // A three-atom sigmoid model on the same data, so gates and variances move too.
  stats::HmcProblem problem;
  problem.model.family = ExpertFamily::sigmoid;
  problem.model.experts = 3;
  problem.data = &toy.data;
  stats::HmcSettings settings;
  settings.chains = 3;
  settings.warmup = 24;  // the metric window runs too
  settings.draws = 10;
  settings.leapfrog_steps = 5;
  settings.seed = 7;
  const stats::PosteriorDraws first = stats::sample_posterior_gpu(context(), problem, settings);
  const stats::PosteriorDraws again = stats::sample_posterior_gpu(context(), problem, settings);
  EXPECT_EQ(first.values, again.values);
  EXPECT_EQ(first.log_density, again.log_density);
  settings.max_steps_per_dispatch = 2;  // each transition in three dispatches
  const stats::PosteriorDraws cut = stats::sample_posterior_gpu(context(), problem, settings);
  EXPECT_GT(cut.dispatches, first.dispatches);
  EXPECT_EQ(first.values, cut.values);
  EXPECT_EQ(first.step_size, cut.step_size);
  settings.seed = 8;
  const stats::PosteriorDraws other = stats::sample_posterior_gpu(context(), problem, settings);
  EXPECT_NE(first.values, other.values);
  // The last gate stays at zero in every draw.
  for (uint32_t c = 0; c < first.chains; ++c) {
    for (uint32_t t = 0; t < first.draws; ++t) {
      EXPECT_EQ(first.value(c, t, problem.model.gate_slope(2)), 0.0);
      EXPECT_EQ(first.value(c, t, problem.model.gate_bias(2)), 0.0);
    }
  }
}

TEST_F(BayesSampler, LoopLimitPlanKeepsEveryGradientWhole) {
  // 20,000 rows: on a driver that ends long loops (lavapipe) the plan cuts 8 leapfrog steps
  // into several dispatches. A gradient cut short would leave the stored log densities far from
  // the reference's at the same draws; the draws must also equal one step per dispatch.
  Toy toy = make_toy(20000);
  stats::HmcProblem problem;
  problem.model.family = ExpertFamily::tanh;
  problem.model.experts = 2;
  problem.data = &toy.data;
  stats::HmcSettings settings;
  settings.chains = 2;
  settings.warmup = 6;
  settings.draws = 4;
  settings.seed = 3;
  const stats::PosteriorDraws planned = stats::sample_posterior_gpu(context(), problem, settings);
  if (context().info().max_loop_iterations > 0) {
    EXPECT_GT(planned.dispatches, 1u + settings.warmup + settings.draws);
  }
  const std::vector<uint8_t> free = stats::default_free_mask(problem.model);
  for (uint32_t c = 0; c < planned.chains; ++c) {
    for (uint32_t t = 0; t < planned.draws; ++t) {
      std::vector<double> theta(planned.parameters);
      for (uint32_t q = 0; q < planned.parameters; ++q) theta[q] = planned.value(c, t, q);
      const double reference = stats::log_posterior(problem.model, toy.data, theta, free);
      // float sums over 20,000 rows: relative 1e-4.
      EXPECT_NEAR(planned.log_density[size_t{c} * planned.draws + t], reference,
                  1e-4 * std::abs(reference))
          << "chain " << c << " draw " << t;
    }
  }
  settings.max_steps_per_dispatch = 1;
  const stats::PosteriorDraws single = stats::sample_posterior_gpu(context(), problem, settings);
  EXPECT_EQ(planned.values, single.values);
}

TEST_F(BayesSampler, RejectsInconsistentProblems) {
  Toy toy = make_toy(10);
  stats::HmcSettings settings;
  settings.leapfrog_steps = 0;
  EXPECT_THROW(stats::sample_posterior_gpu(context(), toy.problem, settings), std::exception);
  settings = {};
  toy.problem.free = {1, 1};
  EXPECT_THROW(stats::sample_posterior_gpu(context(), toy.problem, settings), std::exception);
  toy.problem.free = {};
  toy.problem.model.experts = 9;
  EXPECT_THROW(stats::sample_posterior_gpu(context(), toy.problem, settings), std::exception);
}

// The corrected trapezoid rule integrates cubics exactly: E(t) = t^3 - 2t with V = E' = 3t^2 - 2
// on an uneven ladder gives 1/4 - 1.
TEST(Evidence, CorrectedTrapezoidIsExactForCubics) {
  const std::vector<double> t = stats::temperature_ladder(7, 3.0);
  std::vector<double> mean, variance;
  for (double x : t) {
    mean.push_back(x * x * x - 2 * x);
    variance.push_back(3 * x * x - 2);
  }
  EXPECT_NEAR(stats::thermodynamic_integral(t, mean, variance), -0.75, 1e-14);
  EXPECT_DOUBLE_EQ(t.front(), 0.0);
  EXPECT_DOUBLE_EQ(t.back(), 1.0);
}

// Thermodynamic integration on the conjugate toy, whose evidence is known exactly: by Bayes'
// rule at the posterior mean mu, log p(y) = log p(y, mu) - log N(mu | mu, S)
// = log_posterior(mu) + log(2 pi) + log det(S) / 2 (two sampled parameters).
TEST_F(BayesSampler, ThermodynamicIntegrationMatchesTheConjugateEvidence) {
  const Toy toy = make_toy(40);
  const std::vector<double> mu = {0, 0, toy.mean[0], toy.mean[1], std::log(kNoiseVariance)};
  const double det = toy.covariance[0] * toy.covariance[2] - toy.covariance[1] * toy.covariance[1];
  const double exact = stats::log_posterior(toy.problem.model, toy.data, mu, toy.problem.free) +
                       std::log(2 * std::numbers::pi) + 0.5 * std::log(det);
  stats::EvidenceSettings settings;
  settings.temperatures = 16;
  settings.hmc.chains = 2;
  settings.hmc.warmup = 200;
  settings.hmc.draws = 200;
  settings.hmc.leapfrog_steps = 6;
  settings.hmc.seed = 11;
  const stats::EvidenceEstimate estimate = stats::log_evidence_ti(context(), toy.problem, settings);
  // 4 Monte Carlo standard errors plus 0.05 for the ladder's discretisation.
  EXPECT_NEAR(estimate.log_evidence, exact, 4 * estimate.standard_error + 0.05)
      << "standard error " << estimate.standard_error;
  EXPECT_LT(estimate.standard_error, 0.2);
  // E_t[log L] grows with t (its derivative is a variance).
  for (size_t j = 0; j + 1 < estimate.mean_log_likelihood.size(); ++j) {
    EXPECT_LT(estimate.mean_log_likelihood[j], estimate.mean_log_likelihood[j + 1] + 0.5);
  }
}

}  // namespace
}  // namespace vkmoe::test
