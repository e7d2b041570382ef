#include "engine/bayes/symmetric_eigen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

namespace {

// QL sweeps per eigenvalue before giving up; with Wilkinson shifts two or three are typical.
constexpr int kMaxSweeps = 64;

struct Tridiagonal {
  std::vector<double> diagonal;  // [n]
  std::vector<double> coupling;  // [n]: coupling[i] joins rows i and i+1; coupling[n-1] = 0
  std::vector<double> basis;     // [n, n]: row j is the j-th column of Q, S = Q T Qᵀ
};

std::vector<double> symmetrised_copy(std::span<const double> matrix, std::int64_t n) {
  if (n < 0 || static_cast<std::size_t>(n) * static_cast<std::size_t>(n) != matrix.size()) {
    throw BayesError("symmetric_eigen: matrix has " + std::to_string(matrix.size()) +
                     " entries, expected n·n with n = " + std::to_string(n));
  }
  std::vector<double> a(matrix.size());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      const double x = matrix[i * n + j];
      if (!std::isfinite(x)) {
        throw BayesError("symmetric_eigen: entry (" + std::to_string(i) + ", " + std::to_string(j) +
                         ") is not finite");
      }
      a[i * n + j] = 0.5 * (x + matrix[j * n + i]);
    }
  }
  return a;
}

// Householder reflections H_k = I − 2vvᵀ zero column k below the subdiagonal, one k at a time:
// A ← H_k A H_k. The product Q = H_0 H_1 ⋯ is kept transposed (rows), so that both the
// accumulation here and the rotations of the QL sweeps touch contiguous rows.
Tridiagonal householder_tridiagonalise(std::vector<double> a, std::int64_t n) {
  auto at = [&a, n](std::int64_t i, std::int64_t j) -> double& { return a[i * n + j]; };
  Tridiagonal t;
  t.basis.assign(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) t.basis[i * n + i] = 1.0;

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
      double s = 0;
      for (std::int64_t j = 0; j < m; ++j) s += at(first + i, first + j) * v[j];
      p[i] = s;
      vp += v[i] * s;
    }
    for (std::int64_t i = 0; i < m; ++i) p[i] -= vp * v[i];
    for (std::int64_t i = 0; i < m; ++i) {
      const double vi = v[i], qi = p[i];
      for (std::int64_t j = 0; j < m; ++j) {
        at(first + i, first + j) -= 2.0 * (vi * p[j] + qi * v[j]);
      }
    }
    for (std::int64_t j = 0; j < m; ++j) at(first + j, k) = at(k, first + j) = 0.0;
    at(first, k) = at(k, first) = alpha;

    // Qᵀ ← H Qᵀ on rows first..n-1: row_j −= 2 v_j (Σ_i v_i row_i).
    std::fill(u.begin(), u.end(), 0.0);
    for (std::int64_t j = 0; j < m; ++j) {
      const double vj = v[j];
      const double* row = &t.basis[(first + j) * n];
      for (std::int64_t c = 0; c < n; ++c) u[c] += vj * row[c];
    }
    for (std::int64_t j = 0; j < m; ++j) {
      const double vj2 = 2.0 * v[j];
      double* row = &t.basis[(first + j) * n];
      for (std::int64_t c = 0; c < n; ++c) row[c] -= vj2 * u[c];
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

// Implicit QL on the tridiagonal matrix: for each l, chase a bulge from the first negligible
// coupling m back up to l with Givens rotations, the shift being the eigenvalue of the leading
// 2×2 block nearer d[l] (Wilkinson), until coupling[l] is negligible.
void ql_implicit(Tridiagonal& t, std::int64_t n) {
  std::vector<double>& d = t.diagonal;
  std::vector<double>& e = t.coupling;
  constexpr double eps = std::numeric_limits<double>::epsilon();
  for (std::int64_t l = 0; l < n; ++l) {
    for (int sweep = 0;; ++sweep) {
      std::int64_t m = l;
      for (; m + 1 < n; ++m) {
        const double dd = std::fabs(d[m]) + std::fabs(d[m + 1]);
        if (std::fabs(e[m]) <= eps * dd) break;
      }
      if (m == l) break;
      if (sweep == kMaxSweeps) {
        throw BayesError("symmetric_eigen: QL sweeps did not converge for eigenvalue " +
                         std::to_string(l) + " of " + std::to_string(n));
      }
      double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
      double r = std::hypot(g, 1.0);
      g = d[m] - d[l] + e[l] / (g + std::copysign(r, g));
      double s = 1.0, c = 1.0, p = 0.0;
      bool underflow = false;
      for (std::int64_t i = m - 1; i >= l; --i) {
        const double f = s * e[i], b = c * e[i];
        r = std::hypot(f, g);
        e[i + 1] = r;
        if (r == 0.0) {  // the bulge vanished: the matrix split, start over at l
          d[i + 1] -= p;
          e[m] = 0.0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        double* row_i = &t.basis[i * n];
        double* row_next = &t.basis[(i + 1) * n];
        for (std::int64_t k = 0; k < n; ++k) {
          const double x = row_i[k], y = row_next[k];
          row_next[k] = s * x + c * y;
          row_i[k] = c * x - s * y;
        }
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0.0;
    }
  }
}

}  // namespace

EigenPairs symmetric_eigen_top(std::span<const double> matrix, std::int64_t n, std::int64_t r) {
  if (r < 0 || r > n) {
    throw BayesError("symmetric_eigen_top: rank " + std::to_string(r) +
                     " outside [0, n] with n = " + std::to_string(n));
  }
  Tridiagonal t = householder_tridiagonalise(symmetrised_copy(matrix, n), n);
  ql_implicit(t, n);

  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&t](std::int64_t x, std::int64_t y) { return t.diagonal[x] > t.diagonal[y]; });
  EigenPairs out;
  out.n = n;
  out.values.resize(static_cast<std::size_t>(r));
  out.vectors.resize(static_cast<std::size_t>(n * r));
  for (std::int64_t j = 0; j < r; ++j) {
    const std::int64_t src = order[j];
    out.values[j] = t.diagonal[src];
    for (std::int64_t row = 0; row < n; ++row) {
      out.vectors[row * r + j] = t.basis[src * n + row];
    }
  }
  return out;
}

EigenPairs symmetric_eigen(std::span<const double> matrix, std::int64_t n) {
  return symmetric_eigen_top(matrix, n, n);
}

}  // namespace vkmoe::bayes
