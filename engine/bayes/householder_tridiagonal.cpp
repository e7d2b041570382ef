#include "engine/bayes/householder_tridiagonal.h"

#include <algorithm>
#include <cmath>

namespace vkmoe::bayes {

Tridiagonal householder_tridiagonalise(std::vector<double> a, std::int64_t n, bool accumulate) {
  auto at = [&a, n](std::int64_t i, std::int64_t j) -> double& { return a[i * n + j]; };
  Tridiagonal t;
  t.n = n;
  if (accumulate) {
    // Q is kept transposed (rows), so that both the accumulation here and the rotations of the
    // QL sweeps touch contiguous rows.
    t.basis.assign(static_cast<std::size_t>(n * n), 0.0);
    for (std::int64_t i = 0; i < n; ++i) t.basis[i * n + i] = 1.0;
  } else {
    t.reflectors.assign(static_cast<std::size_t>(n * n), 0.0);
  }

  std::vector<double> v(static_cast<std::size_t>(n)), p(static_cast<std::size_t>(n)),
      u(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k + 2 < n; ++k) {
    const std::int64_t first = k + 1, m = n - first;
    double sigma2 = 0;
    for (std::int64_t j = 0; j < m; ++j) sigma2 += at(first + j, k) * at(first + j, k);
    const double sigma = std::sqrt(sigma2);
    if (sigma == 0) continue;  // column already reduced
    // alpha takes the sign opposite to x₀ so that v₀ = x₀ − alpha does not cancel.
    const double alpha = at(first, k) >= 0 ? -sigma : sigma;
    for (std::int64_t j = 0; j < m; ++j) v[j] = at(first + j, k);
    v[0] -= alpha;
    double vnorm2 = 0;
    for (std::int64_t j = 0; j < m; ++j) vnorm2 += v[j] * v[j];
    const double vnorm = std::sqrt(vnorm2);
    for (std::int64_t j = 0; j < m; ++j) v[j] /= vnorm;

    // H A H on the trailing block = A − 2(v qᵀ + q vᵀ), p = A v, q = p − (vᵀp) v.
    double vp = 0;
    for (std::int64_t i = 0; i < m; ++i) {
      const double* row = &a[(first + i) * n + first];
      double s = 0;
      for (std::int64_t j = 0; j < m; ++j) s += row[j] * v[j];
      p[i] = s;
      vp += v[i] * s;
    }
    for (std::int64_t i = 0; i < m; ++i) p[i] -= vp * v[i];
    for (std::int64_t i = 0; i < m; ++i) {
      const double vi = 2.0 * v[i], qi = 2.0 * p[i];
      double* row = &a[(first + i) * n + first];
      for (std::int64_t j = 0; j < m; ++j) row[j] -= vi * p[j] + qi * v[j];
    }
    for (std::int64_t j = 0; j < m; ++j) at(first + j, k) = at(k, first + j) = 0.0;
    at(first, k) = at(k, first) = alpha;

    if (accumulate) {
      // Qᵀ ← H Qᵀ on rows first..n−1: row_j −= 2 v_j (Σ_i v_i row_i).
      std::fill(u.begin(), u.end(), 0.0);
      for (std::int64_t j = 0; j < m; ++j) {
        const double* row = &t.basis[(first + j) * n];
        for (std::int64_t c = 0; c < n; ++c) u[c] += v[j] * row[c];
      }
      for (std::int64_t j = 0; j < m; ++j) {
        double* row = &t.basis[(first + j) * n];
        for (std::int64_t c = 0; c < n; ++c) row[c] -= 2.0 * v[j] * u[c];
      }
    } else {
      std::copy_n(v.begin(), m, t.reflectors.begin() + k * n + first);
    }
  }
  t.diagonal.resize(static_cast<std::size_t>(n));
  t.coupling.assign(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    t.diagonal[i] = at(i, i);
    if (i + 1 < n) t.coupling[i] = at(i + 1, i);
  }
  return t;
}

void apply_householder_basis(const Tridiagonal& t, double* x) {
  const std::int64_t n = t.n;
  for (std::int64_t k = n - 3; k >= 0; --k) {  // Q x = H_0 (H_1 (⋯ H_{n−3} x))
    const double* v = &t.reflectors[k * n];
    double dot = 0;
    for (std::int64_t j = k + 1; j < n; ++j) dot += v[j] * x[j];
    if (dot == 0) continue;
    for (std::int64_t j = k + 1; j < n; ++j) x[j] -= 2.0 * dot * v[j];
  }
}

}  // namespace vkmoe::bayes
