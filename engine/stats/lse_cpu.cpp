#include "engine/stats/lse_cpu.h"

#include <algorithm>
#include <cmath>

#include "engine/vk/error.h"

namespace vkmoe::stats {

double lse_objective(const LseBatch& batch, std::span<const float> theta, const Dataset& data,
                     std::span<double> gradient) {
  const uint32_t d = batch.dimension, k = batch.experts, stride = atom_stride(d);
  std::fill(gradient.begin(), gradient.end(), 0.0);
  double gate[kMaxExperts], h[kMaxExperts], dh[kMaxExperts];
  double loss = 0;
  for (uint32_t s = 0; s < data.samples; ++s) {
    const float* x = data.row(s);
    const double y = x[d];
    double largest = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) {
      const float* atom = theta.data() + i * stride;
      double g = atom[d];
      for (uint32_t j = 0; j < d; ++j) g += double{atom[j]} * x[j];
      gate[i] = g;
      largest = std::max(largest, g);
    }
    double total = 0;
    for (uint32_t i = 0; i < k; ++i) {
      gate[i] = std::exp(gate[i] - largest);
      total += gate[i];
    }
    double f = 0;
    for (uint32_t i = 0; i < k; ++i) {
      const float* atom = theta.data() + i * stride;
      gate[i] /= total;
      double z = atom[2 * d + 1];
      for (uint32_t j = 0; j < d; ++j) z += double{atom[d + 1 + j]} * x[j];
      const ExpertValue value = expert_value(batch.family, batch.degree, z);
      h[i] = value.value;
      dh[i] = value.slope;
      f += gate[i] * h[i];
    }
    const double r = f - y;
    loss += r * r;
    for (uint32_t i = 0; i < k; ++i) {
      double* g = gradient.data() + i * stride;
      const double c = r * gate[i] * (h[i] - f);
      const double e = r * gate[i] * dh[i];
      for (uint32_t j = 0; j < d; ++j) {
        g[j] += c * x[j];
        g[d + 1 + j] += e * x[j];
      }
      g[d] += c;
      g[2 * d + 1] += e;
    }
  }
  const double n = data.samples;
  for (double& g : gradient) g *= 2.0 / n;
  return loss / n;
}

namespace {

// [J r]^T [J r] over the data: `system` gets J^T J (P x P, full), `rhs` J^T r; returns r^T r.
double normal_equations(const LseBatch& batch, std::span<const float> theta, const Dataset& data,
                        std::vector<double>& system, std::vector<double>& rhs) {
  const uint32_t d = batch.dimension, k = batch.experts, stride = atom_stride(d);
  const uint32_t count = batch.parameters();
  std::fill(system.begin(), system.end(), 0.0);
  std::fill(rhs.begin(), rhs.end(), 0.0);
  std::vector<double> jac(count);
  double gate[kMaxExperts], h[kMaxExperts], dh[kMaxExperts];
  double loss = 0;
  for (uint32_t s = 0; s < data.samples; ++s) {
    const float* x = data.row(s);
    double largest = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) {
      const float* atom = theta.data() + i * stride;
      double g = atom[d];
      for (uint32_t j = 0; j < d; ++j) g += double{atom[j]} * x[j];
      gate[i] = g;
      largest = std::max(largest, g);
    }
    double total = 0, f = 0;
    for (uint32_t i = 0; i < k; ++i) total += (gate[i] = std::exp(gate[i] - largest));
    for (uint32_t i = 0; i < k; ++i) {
      const float* atom = theta.data() + i * stride;
      gate[i] /= total;
      double z = atom[2 * d + 1];
      for (uint32_t j = 0; j < d; ++j) z += double{atom[d + 1 + j]} * x[j];
      const ExpertValue value = expert_value(batch.family, batch.degree, z);
      h[i] = value.value;
      dh[i] = value.slope;
      f += gate[i] * h[i];
    }
    for (uint32_t i = 0; i < k; ++i) {
      double* g = jac.data() + i * stride;
      const double c = gate[i] * (h[i] - f), e = gate[i] * dh[i];
      for (uint32_t j = 0; j < d; ++j) {
        g[j] = c * x[j];
        g[d + 1 + j] = e * x[j];
      }
      g[d] = c;
      g[2 * d + 1] = e;
    }
    const double r = f - x[d];
    loss += r * r;
    for (uint32_t a = 0; a < count; ++a) {
      rhs[a] += jac[a] * r;
      for (uint32_t b = 0; b <= a; ++b) system[a * count + b] += jac[a] * jac[b];
    }
  }
  return loss;
}

// Solves (A + lambda diag(A)) step = -rhs by Cholesky on the lower triangle; false if the
// damped matrix is not positive definite.
bool damped_solve(const std::vector<double>& system, const std::vector<double>& rhs, double lambda,
                  std::vector<double>& step) {
  const size_t count = rhs.size();
  double trace = 0;
  for (size_t q = 0; q < count; ++q) trace += system[q * count + q];
  std::vector<double> factor(system);
  for (size_t q = 0; q < count; ++q) {
    factor[q * count + q] =
        system[q * count + q] * (1 + lambda) + 1e-9 * trace / static_cast<double>(count) + 1e-30;
  }
  for (size_t j = 0; j < count; ++j) {
    const double pivot = factor[j * count + j];
    if (!(pivot > 0) || std::isinf(pivot)) return false;
    const double root = std::sqrt(pivot);
    factor[j * count + j] = root;
    for (size_t r = j + 1; r < count; ++r) factor[r * count + j] /= root;
    for (size_t r = j + 1; r < count; ++r) {
      for (size_t c = j + 1; c <= r; ++c)
        factor[r * count + c] -= factor[r * count + j] * factor[c * count + j];
    }
  }
  for (size_t r = 0; r < count; ++r) {
    double v = -rhs[r];
    for (size_t c = 0; c < r; ++c) v -= factor[r * count + c] * step[c];
    step[r] = v / factor[r * count + r];
  }
  for (size_t r = count; r-- > 0;) {
    double v = step[r];
    for (size_t c = r + 1; c < count; ++c) v -= factor[c * count + r] * step[c];
    step[r] = v / factor[r * count + r];
  }
  return true;
}

void adam(const LseBatch& batch, const AdamSchedule& schedule, float bound, const Dataset& data,
          std::span<float> theta) {
  const uint32_t parameters = batch.parameters();
  std::vector<double> gradient(parameters);
  std::vector<float> first(parameters, 0.0f), second(parameters, 0.0f);
  const float log_decay = schedule.log_decay();
  for (uint32_t step = 1; step <= schedule.iterations; ++step) {
    lse_objective(batch, theta, data, gradient);
    const float rate = schedule.learning_rate * std::exp(log_decay * static_cast<float>(step - 1));
    const float correction1 = 1.0f - std::pow(schedule.beta1, static_cast<float>(step));
    const float correction2 = 1.0f - std::pow(schedule.beta2, static_cast<float>(step));
    for (uint32_t q = 0; q < parameters; ++q) {
      const float g = static_cast<float>(gradient[q]);
      first[q] = schedule.beta1 * first[q] + (1.0f - schedule.beta1) * g;
      second[q] = schedule.beta2 * second[q] + (1.0f - schedule.beta2) * g * g;
      theta[q] = std::clamp(theta[q] - rate * (first[q] / correction1) /
                                           (std::sqrt(second[q] / correction2) + schedule.epsilon),
                            -bound, bound);
    }
  }
}

void levenberg_marquardt(const LseBatch& batch, const LevenbergMarquardtSchedule& schedule,
                         float bound, const Dataset& data, std::span<float> theta) {
  const uint32_t count = batch.parameters();
  std::vector<double> system(size_t{count} * count), rhs(count), step(count), scratch(count);
  std::vector<float> trial(count);
  double lambda = schedule.initial_damping;
  double loss = normal_equations(batch, theta, data, system, rhs);
  for (uint32_t it = 0; it < schedule.iterations && lambda < 1e10; ++it) {
    if (!damped_solve(system, rhs, lambda, step)) {
      lambda *= 4;
      continue;
    }
    for (uint32_t q = 0; q < count; ++q) {
      trial[q] = std::clamp(theta[q] + static_cast<float>(step[q]), -bound, bound);
    }
    const double trial_loss = lse_objective(batch, trial, data, scratch) * data.samples;
    if (trial_loss < loss) {
      std::copy(trial.begin(), trial.end(), theta.begin());
      lambda = std::max(lambda / 3, 1e-9);
      loss = normal_equations(batch, theta, data, system, rhs);
    } else {
      lambda *= 4;
    }
  }
}

}  // namespace

LseBatchResult fit_batch_cpu(const LseBatch& batch, const LseOptimiser& optimiser) {
  validate_batch(batch);
  const uint32_t parameters = batch.parameters();
  LseBatchResult result;
  result.parameters = batch.start;
  result.objective.resize(batch.problems());
  result.gradient.resize(result.parameters.size());
  std::vector<double> gradient(parameters);
  for (uint32_t problem = 0; problem < batch.problems(); ++problem) {
    const Dataset& data = *batch.datasets[batch.dataset_of_problem[problem]];
    const std::span<float> theta(result.parameters.data() + size_t{problem} * parameters,
                                 parameters);
    adam(batch, optimiser.adam, optimiser.parameter_bound, data, theta);
    levenberg_marquardt(batch, optimiser.refine, optimiser.parameter_bound, data, theta);
    result.objective[problem] = lse_objective(batch, theta, data, gradient);
    for (uint32_t q = 0; q < parameters; ++q) {
      result.gradient[size_t{problem} * parameters + q] = static_cast<float>(gradient[q]);
    }
  }
  return result;
}

}  // namespace vkmoe::stats
