#include "engine/stats/mcmc_diagnostics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// Chains as rows of equal length.
struct Chains {
  uint32_t count = 0;
  uint32_t length = 0;
  std::vector<double> values;  // count * length
  double at(uint32_t c, uint32_t t) const { return values[size_t{c} * length + t]; }
};

Chains split_chains(std::span<const double> draws, uint32_t chains) {
  if (chains == 0 || draws.size() % chains != 0) {
    throw Error("diagnostics: the draws must be a whole number of chains");
  }
  const size_t n = draws.size() / chains;
  if (n < 4) throw Error("diagnostics: at least 4 draws per chain are needed");
  Chains out;
  out.count = 2 * chains;
  out.length = static_cast<uint32_t>(n / 2);
  for (uint32_t c = 0; c < chains; ++c) {
    const double* chain = draws.data() + c * n;
    out.values.insert(out.values.end(), chain, chain + out.length);
    out.values.insert(out.values.end(), chain + (n - out.length), chain + n);  // odd n: drop middle
  }
  return out;
}

Chains rank_normalised(Chains chains) {
  const std::vector<double> ranks = average_ranks(chains.values);
  const double s = static_cast<double>(ranks.size());
  for (size_t i = 0; i < ranks.size(); ++i) {
    chains.values[i] = normal_quantile((ranks[i] - 0.375) / (s + 0.25));
  }
  return chains;
}

Chains folded(std::span<const double> draws, uint32_t chains) {
  std::vector<double> sorted(draws.begin(), draws.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = std::abs(draws[i] - median);
  return split_chains(out, chains);
}

double mean_of(const Chains& x, uint32_t c) {
  double sum = 0;
  for (uint32_t t = 0; t < x.length; ++t) sum += x.at(c, t);
  return sum / x.length;
}

// Unbiased within-chain variances' mean W and between-chain variance B / n.
void variance_parts(const Chains& x, double* within, double* between_over_n) {
  std::vector<double> means(x.count);
  double w = 0;
  for (uint32_t c = 0; c < x.count; ++c) {
    means[c] = mean_of(x, c);
    double ss = 0;
    for (uint32_t t = 0; t < x.length; ++t) ss += (x.at(c, t) - means[c]) * (x.at(c, t) - means[c]);
    w += ss / (x.length - 1);
  }
  const double grand = std::accumulate(means.begin(), means.end(), 0.0) / x.count;
  double b = 0;
  for (double m : means) b += (m - grand) * (m - grand);
  *within = w / x.count;
  *between_over_n = x.count > 1 ? b / (x.count - 1) : 0.0;
}

double rhat_of(const Chains& x) {
  double w = 0, b_over_n = 0;
  variance_parts(x, &w, &b_over_n);
  if (!(w > 0)) return b_over_n > 0 ? INFINITY : 1.0;  // constant chains: 1 if they agree
  const double n = x.length;
  return std::sqrt(((n - 1) / n * w + b_over_n) / w);
}

// Autocovariance at `lag` of chain c, divided by the chain length (the biased estimator the
// FFT computes in `posterior`).
double autocovariance(const Chains& x, uint32_t c, double mean, uint32_t lag) {
  double sum = 0;
  for (uint32_t t = 0; t + lag < x.length; ++t)
    sum += (x.at(c, t) - mean) * (x.at(c, t + lag) - mean);
  return sum / x.length;
}

double ess_of(const Chains& x) {
  const uint32_t m = x.count, n = x.length;
  std::vector<double> means(m);
  for (uint32_t c = 0; c < m; ++c) means[c] = mean_of(x, c);
  const auto mean_acov = [&](uint32_t lag) {
    double sum = 0;
    for (uint32_t c = 0; c < m; ++c) sum += autocovariance(x, c, means[c], lag);
    return sum / m;
  };
  const double mean_var = mean_acov(0) * n / (n - 1.0);
  double var_plus = mean_var * (n - 1.0) / n;
  if (m > 1) {
    const double grand = std::accumulate(means.begin(), means.end(), 0.0) / m;
    double b = 0;
    for (double v : means) b += (v - grand) * (v - grand);
    var_plus += b / (m - 1);
  }
  if (!(var_plus > 0)) return static_cast<double>(m) * n;  // constant draws
  std::vector<double> rho(n, 0.0);
  const auto rho_at = [&](uint32_t lag) { return 1.0 - (mean_var - mean_acov(lag)) / var_plus; };
  // Geyer's initial positive sequence: pairs (even, odd) while their sum is positive.
  uint32_t t = 0;
  double even = 1.0, odd = n > 1 ? rho_at(1) : 0.0;
  rho[0] = even;
  if (n > 1) rho[1] = odd;
  while (t + 5 < n && std::isfinite(even + odd) && even + odd > 0) {
    t += 2;
    even = rho_at(t);
    odd = rho_at(t + 1);
    if (even + odd >= 0) {
      rho[t] = even;
      rho[t + 1] = odd;
    }
  }
  const uint32_t max_t = t;
  if (even > 0) rho[max_t] = even;  // the improved estimate of `posterior`
  // Initial monotone sequence.
  for (t = 0; t + 4 <= max_t;) {
    t += 2;
    if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) {
      rho[t] = rho[t + 1] = 0.5 * (rho[t - 2] + rho[t - 1]);
    }
  }
  const double total = static_cast<double>(m) * n;
  double tau = -1.0 + rho[max_t];
  for (uint32_t i = 0; i < max_t; ++i) tau += 2.0 * rho[i];
  tau = std::max(tau, 1.0 / std::log10(total));
  return total / tau;
}

}  // namespace

std::vector<double> average_ranks(std::span<const double> values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = 0.5 * (static_cast<double>(i) + static_cast<double>(j)) + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double normal_quantile(double probability) {
  if (!(probability > 0 && probability < 1)) {
    throw Error("diagnostics: normal quantile of a probability outside (0, 1)");
  }
  // Acklam's coefficients.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  const double low = 0.02425;
  double x;
  if (probability < low || probability > 1 - low) {
    const double q = std::sqrt(-2 * std::log(std::min(probability, 1 - probability)));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (probability > 1 - low) x = -x;
  } else {
    const double q = probability - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // One Halley step on Phi(x) - p, with Phi from erfc (full double precision).
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - probability;
  const double u = e * std::sqrt(2 * 3.14159265358979323846) * std::exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

double split_rhat_basic(std::span<const double> draws, uint32_t chains) {
  return rhat_of(split_chains(draws, chains));
}

double rank_normalized_rhat(std::span<const double> draws, uint32_t chains) {
  const double bulk = rhat_of(rank_normalised(split_chains(draws, chains)));
  const double tail = rhat_of(rank_normalised(folded(draws, chains)));
  return std::max(bulk, tail);
}

double bulk_ess(std::span<const double> draws, uint32_t chains) {
  return ess_of(rank_normalised(split_chains(draws, chains)));
}

double basic_ess(std::span<const double> draws, uint32_t chains) {
  return ess_of(split_chains(draws, chains));
}

}  // namespace vkmoe::stats
