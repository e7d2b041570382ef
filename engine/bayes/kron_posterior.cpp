#include "engine/bayes/kron_posterior.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

namespace {

void check_pairs(const EigenPairs& p, const char* which) {
  const std::string name = std::string("posterior factor ") + which;
  if (p.n < 1 || p.count() > p.n) {
    throw BayesError(name + ": " + std::to_string(p.count()) + " eigenpairs for size " +
                     std::to_string(p.n) + ", expected 1 ≤ size and rank ≤ size");
  }
  if (p.vectors.size() != static_cast<std::size_t>(p.n * p.count())) {
    throw BayesError(name + ": eigenvectors hold " + std::to_string(p.vectors.size()) +
                     " values, expected " + std::to_string(p.n) + "×" + std::to_string(p.count()));
  }
  for (double v : p.values) {
    if (!std::isfinite(v)) throw BayesError(name + ": an eigenvalue is not finite");
  }
  for (double v : p.vectors) {
    if (!std::isfinite(v)) throw BayesError(name + ": an eigenvector entry is not finite");
  }
}

// Q_Gᵀ J Q_A = Σ_t (Q_Gᵀ g_t)(Q_Aᵀ a_t)ᵀ, [r_G, r_A].
std::vector<double> project(const KronExpertFactors& f, const OuterProductSum& j) {
  const std::int64_t h = f.h(), in = f.i(), rg = f.g.count(), ra = f.a.count();
  if (j.terms < 0 || j.g.size() != static_cast<std::size_t>(j.terms * h) ||
      j.a.size() != static_cast<std::size_t>(j.terms * in)) {
    throw BayesError("posterior_covariance: J has " + std::to_string(j.terms) +
                     " terms but g holds " + std::to_string(j.g.size()) + " and a " +
                     std::to_string(j.a.size()) + " values, expected terms×" + std::to_string(h) +
                     " and terms×" + std::to_string(in));
  }
  std::vector<double> out(static_cast<std::size_t>(rg * ra), 0.0), pg(rg), pa(ra);
  for (std::int64_t t = 0; t < j.terms; ++t) {
    std::fill(pg.begin(), pg.end(), 0.0);
    std::fill(pa.begin(), pa.end(), 0.0);
    for (std::int64_t x = 0; x < h; ++x) {
      for (std::int64_t k = 0; k < rg; ++k) pg[k] += f.g.vectors[x * rg + k] * j.g[t * h + x];
    }
    for (std::int64_t x = 0; x < in; ++x) {
      for (std::int64_t k = 0; k < ra; ++k) pa[k] += f.a.vectors[x * ra + k] * j.a[t * in + x];
    }
    for (std::int64_t u = 0; u < rg; ++u) {
      for (std::int64_t v = 0; v < ra; ++v) out[u * ra + v] += pg[u] * pa[v];
    }
  }
  return out;
}

double dot(std::span<const double> x, std::int64_t xi, std::span<const double> y, std::int64_t yi,
           std::int64_t n) {
  double s = 0;
  for (std::int64_t k = 0; k < n; ++k) s += x[xi * n + k] * y[yi * n + k];
  return s;
}

}  // namespace

void check_posterior(const KronExpertFactors& f, const PosteriorScale& s) {
  check_pairs(f.g, "G");
  check_pairs(f.a, "A");
  if (!std::isfinite(f.tokens) || f.tokens < 0) {
    throw BayesError("posterior: token count M = " + std::to_string(f.tokens) +
                     ", expected a finite M ≥ 0");
  }
  if (!std::isfinite(s.prior_precision) || s.prior_precision <= 0) {
    throw BayesError("posterior: prior precision λ = " + std::to_string(s.prior_precision) +
                     ", expected a finite λ > 0");
  }
  if (!std::isfinite(s.temperature) || s.temperature <= 0) {
    throw BayesError("posterior: temperature T = " + std::to_string(s.temperature) +
                     ", expected a finite T > 0");
  }
}

std::vector<double> kron_curvature(const KronExpertFactors& f, const PosteriorScale& s) {
  check_posterior(f, s);
  const std::int64_t rg = f.g.count(), ra = f.a.count();
  std::vector<double> c(static_cast<std::size_t>(rg * ra), 0.0);
  if (f.tokens == 0) return c;
  const double scale = 1.0 / (f.tokens * s.temperature);
  for (std::int64_t j = 0; j < rg; ++j) {
    for (std::int64_t i = 0; i < ra; ++i) {
      c[j * ra + i] = std::max(f.g.values[j], 0.0) * std::max(f.a.values[i], 0.0) * scale;
    }
  }
  return c;
}

double log_det_precision(const KronExpertFactors& f, const PosteriorScale& s) {
  const std::vector<double> c = kron_curvature(f, s);
  const double lambda = s.prior_precision;
  double sum = 0;
  for (double x : c) sum += std::log1p(x / lambda);  // log(c + λ) − log λ, exact for small c
  return sum + static_cast<double>(f.params()) * std::log(lambda);
}

std::vector<double> sampling_scale(const KronExpertFactors& f, const PosteriorScale& s) {
  std::vector<double> c = kron_curvature(f, s);
  const double lambda = s.prior_precision, prior_sd = 1.0 / std::sqrt(lambda);
  for (double& x : c) x = 1.0 / std::sqrt(x + lambda) - prior_sd;
  return c;
}

double posterior_covariance(const KronExpertFactors& f, const PosteriorScale& s,
                            const OuterProductSum& j1, const OuterProductSum& j2) {
  const std::vector<double> c = kron_curvature(f, s);
  const std::vector<double> p1 = project(f, j1), p2 = project(f, j2);
  const double lambda = s.prior_precision;
  double isotropic = 0;  // ⟨J₁, J₂⟩
  for (std::int64_t t = 0; t < j1.terms; ++t) {
    for (std::int64_t u = 0; u < j2.terms; ++u) {
      isotropic += dot(j1.g, t, j2.g, u, f.h()) * dot(j1.a, t, j2.a, u, f.i());
    }
  }
  double low_rank = 0;
  for (std::size_t k = 0; k < c.size(); ++k) {
    // (c + λ)⁻¹ − λ⁻¹ = −c/(λ(c + λ)), without the cancellation
    low_rank -= c[k] / (lambda * (c[k] + lambda)) * p1[k] * p2[k];
  }
  return isotropic / lambda + low_rank;
}

double squared_distance_to_prior_mean(std::span<const float> w_map, PriorMean mean) {
  if (mean == PriorMean::kMap) return 0.0;
  double s = 0;
  for (float w : w_map) s += static_cast<double>(w) * static_cast<double>(w);
  return s;
}

}  // namespace vkmoe::bayes
