#include "engine/bayes/householder_tridiagonal.h"

#include <algorithm>
#include <cmath>

namespace vkmoe::bayes {

namespace {

// The reflector that zeroes column `col` below its subdiagonal, from the lower triangle of `a`:
// v (unit, length n − col − 1) into `v`, the new subdiagonal alpha written into a(col+1, col).
// False (and v = 0) when the column is already reduced.
bool make_reflector(std::vector<double>& a, std::int64_t n, std::int64_t col,
                    std::vector<double>& v) {
  const std::int64_t first = col + 1, m = n - first;
  double sigma2 = 0;
  for (std::int64_t j = 0; j < m; ++j) {
    v[j] = a[(first + j) * n + col];
    sigma2 += v[j] * v[j];
  }
  if (sigma2 == 0) {
    std::fill_n(v.begin(), m, 0.0);
    return false;
  }
  const double sigma = std::sqrt(sigma2);
  // alpha takes the sign opposite to x₀ so that v₀ = x₀ − alpha does not cancel.
  const double alpha = v[0] >= 0 ? -sigma : sigma;
  v[0] -= alpha;
  double vnorm2 = 0;
  for (std::int64_t j = 0; j < m; ++j) vnorm2 += v[j] * v[j];
  const double inv = 1.0 / std::sqrt(vnorm2);
  for (std::int64_t j = 0; j < m; ++j) v[j] *= inv;
  a[first * n + col] = alpha;
  return true;
}

}  // namespace

// Works on the lower triangle only. Step k applies A ← H A H to the trailing block (rows and
// columns k+1..n−1) as the rank-2 update A − 2(v qᵀ + q vᵀ), p = A v, q = p − (vᵀp) v. The
// product p of step k+1 is accumulated in the same sweep that updates the block for step k,
// so each step reads and writes the block once: memory traffic, not flops, bounds this
// for the n = 2048 factors of real models.
Tridiagonal householder_tridiagonalise(std::vector<double> a, std::int64_t n, bool accumulate) {
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
  const auto size = static_cast<std::size_t>(std::max<std::int64_t>(n, 1));
  std::vector<double> v(size, 0.0), p(size, 0.0), q(size, 0.0), v_next(size, 0.0),
      p_next(size, 0.0), u(size, 0.0);

  bool active = n >= 3 && make_reflector(a, n, 0, v);
  if (n >= 3) {  // p = A v on the first trailing block (rows 1..n−1)
    for (std::int64_t i = 0; i < n - 1; ++i) {
      const double* row = &a[(1 + i) * n + 1];
      for (std::int64_t j = 0; j < i; ++j) {
        p[i] += row[j] * v[j];
        p[j] += row[j] * v[i];
      }
      p[i] += row[i] * v[i];
    }
  }
  for (std::int64_t k = 0; k + 2 < n; ++k) {
    const std::int64_t first = k + 1, m = n - first;
    double vp = 0;
    for (std::int64_t i = 0; i < m; ++i) vp += v[i] * p[i];
    for (std::int64_t i = 0; i < m; ++i) q[i] = active ? p[i] - vp * v[i] : 0.0;

    // Column `first` of the block first: the next reflector is made from it.
    for (std::int64_t i = 0; i < m; ++i) {
      a[(first + i) * n + first] -= 2.0 * (v[i] * q[0] + q[i] * v[0]);
    }
    const bool has_next = first + 2 < n;
    bool active_next = false;
    if (has_next) {
      active_next = make_reflector(a, n, first, v_next);
      std::fill_n(p_next.begin(), m - 1, 0.0);
    }
    // The rest of the block (columns first+1..), lower triangle, and p of the next step.
    for (std::int64_t i = 1; i < m; ++i) {
      double* row = &a[(first + i) * n + first];
      const double vi = 2.0 * v[i], qi = 2.0 * q[i];
      if (has_next) {
        const double vn_i = v_next[i - 1];
        double acc = 0;
        for (std::int64_t j = 1; j < i; ++j) {
          const double x = row[j] - (vi * q[j] + qi * v[j]);
          row[j] = x;
          acc += x * v_next[j - 1];
          p_next[j - 1] += x * vn_i;
        }
        const double diag = row[i] - (vi * q[i] + qi * v[i]);
        row[i] = diag;
        p_next[i - 1] += acc + diag * vn_i;
      } else {
        for (std::int64_t j = 1; j <= i; ++j) row[j] -= vi * q[j] + qi * v[j];
      }
    }

    if (active && accumulate) {
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
    } else if (active) {
      std::copy_n(v.begin(), m, t.reflectors.begin() + k * n + first);
    }
    std::swap(v, v_next);
    std::swap(p, p_next);
    active = active_next;
  }
  t.diagonal.resize(static_cast<std::size_t>(n));
  t.coupling.assign(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    t.diagonal[i] = a[i * n + i];
    if (i + 1 < n) t.coupling[i] = a[(i + 1) * n + i];
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
