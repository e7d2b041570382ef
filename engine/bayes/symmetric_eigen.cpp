#include "engine/bayes/symmetric_eigen.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/householder_tridiagonal.h"
#include "engine/bayes/tridiagonal_eigen.h"

namespace vkmoe::bayes {

namespace {

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

std::vector<std::int64_t> descending_order(const std::vector<double>& values) {
  std::vector<std::int64_t> order(values.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&values](std::int64_t x, std::int64_t y) { return values[x] > values[y]; });
  return order;
}

// Every eigenvector: accumulate Q and rotate it along in the QL sweeps (≈ 9n³ flops).
EigenPairs all_pairs(std::vector<double> a, std::int64_t n, std::int64_t r) {
  Tridiagonal t = householder_tridiagonalise(std::move(a), n, /*accumulate=*/true);
  ql_implicit(t);
  const std::vector<std::int64_t> order = descending_order(t.diagonal);
  EigenPairs out;
  out.n = n;
  out.values.resize(static_cast<std::size_t>(r));
  out.vectors.resize(static_cast<std::size_t>(n * r));
  for (std::int64_t j = 0; j < r; ++j) {
    out.values[j] = t.diagonal[order[j]];
    for (std::int64_t row = 0; row < n; ++row)
      out.vectors[row * r + j] = t.basis[order[j] * n + row];
  }
  return out;
}

// A few eigenvectors: eigenvalues by QL without vectors, eigenvectors of T by inverse iteration,
// then back through the reflectors (≈ 4/3 n³ + O(n²r) flops).
EigenPairs top_pairs(std::vector<double> a, std::int64_t n, std::int64_t r) {
  Tridiagonal t = householder_tridiagonalise(std::move(a), n, /*accumulate=*/false);
  const std::vector<double> diagonal = t.diagonal, coupling = t.coupling;
  ql_implicit(t);
  const std::vector<std::int64_t> order = descending_order(t.diagonal);
  EigenPairs out;
  out.n = n;
  for (std::int64_t j = 0; j < r; ++j) out.values.push_back(t.diagonal[order[j]]);
  std::vector<double> rows = tridiagonal_eigenvectors(diagonal, coupling, out.values);
  out.vectors.resize(static_cast<std::size_t>(n * r));
  for (std::int64_t j = 0; j < r; ++j) {
    double* x = &rows[j * n];
    apply_householder_basis(t, x);
    for (std::int64_t row = 0; row < n; ++row) out.vectors[row * r + j] = x[row];
  }
  return out;
}

}  // namespace

EigenPairs symmetric_eigen_top(std::span<const double> matrix, std::int64_t n, std::int64_t r) {
  if (r < 0 || r > n) {
    throw BayesError("symmetric_eigen_top: rank " + std::to_string(r) +
                     " outside [0, n] with n = " + std::to_string(n));
  }
  std::vector<double> a = symmetrised_copy(matrix, n);
  // Inverse iteration pays off once the vectors wanted are a small part of all of them.
  if (4 * r <= n) return top_pairs(std::move(a), n, r);
  return all_pairs(std::move(a), n, r);
}

EigenPairs symmetric_eigen(std::span<const double> matrix, std::int64_t n) {
  return symmetric_eigen_top(matrix, n, n);
}

}  // namespace vkmoe::bayes
