// Dense references for the Bayesian-MoE tests, written independently of engine/bayes: plain
// row-major matrices, Gram–Schmidt, Cholesky, explicit Kronecker products. Slow and obvious on
// purpose; sizes in the tests are tiny.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace vkmoe::bayes::dense {

struct Matrix {
  std::int64_t rows = 0, cols = 0;
  std::vector<double> data;  // row-major

  Matrix() = default;
  Matrix(std::int64_t r, std::int64_t c)
      : rows(r), cols(c), data(static_cast<std::size_t>(r * c)) {}
  double& operator()(std::int64_t i, std::int64_t j) { return data[i * cols + j]; }
  double operator()(std::int64_t i, std::int64_t j) const { return data[i * cols + j]; }
};

inline Matrix identity(std::int64_t n) {
  Matrix m(n, n);
  for (std::int64_t i = 0; i < n; ++i) m(i, i) = 1.0;
  return m;
}

inline Matrix multiply(const Matrix& a, const Matrix& b) {
  if (a.cols != b.rows) throw std::logic_error("dense::multiply: shapes");
  Matrix c(a.rows, b.cols);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t k = 0; k < a.cols; ++k)
      for (std::int64_t j = 0; j < b.cols; ++j) c(i, j) += a(i, k) * b(k, j);
  return c;
}

inline Matrix transpose(const Matrix& a) {
  Matrix t(a.cols, a.rows);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  return t;
}

inline Matrix add(const Matrix& a, const Matrix& b, double b_scale = 1.0) {
  Matrix c = a;
  for (std::size_t k = 0; k < c.data.size(); ++k) c.data[k] += b_scale * b.data[k];
  return c;
}

inline double frobenius(const Matrix& a) {
  double s = 0;
  for (double x : a.data) s += x * x;
  return std::sqrt(s);
}

inline double max_abs(const Matrix& a) {
  double m = 0;
  for (double x : a.data) m = std::max(m, std::fabs(x));
  return m;
}

inline Matrix gaussian(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Matrix m(rows, cols);
  for (double& x : m.data) x = normal(rng);
  return m;
}

// Columns orthonormalised by modified Gram–Schmidt (twice, for a clean basis).
inline Matrix orthonormal_columns(std::int64_t n, std::int64_t k, std::uint64_t seed) {
  Matrix q = gaussian(n, k, seed);
  for (int pass = 0; pass < 2; ++pass) {
    for (std::int64_t j = 0; j < k; ++j) {
      for (std::int64_t p = 0; p < j; ++p) {
        double dot = 0;
        for (std::int64_t i = 0; i < n; ++i) dot += q(i, p) * q(i, j);
        for (std::int64_t i = 0; i < n; ++i) q(i, j) -= dot * q(i, p);
      }
      double norm = 0;
      for (std::int64_t i = 0; i < n; ++i) norm += q(i, j) * q(i, j);
      norm = std::sqrt(norm);
      for (std::int64_t i = 0; i < n; ++i) q(i, j) /= norm;
    }
  }
  return q;
}

// Q diag(values) Qᵀ for Q with orthonormal columns.
inline Matrix with_spectrum(const Matrix& q, const std::vector<double>& values) {
  Matrix s(q.rows, q.rows);
  for (std::int64_t i = 0; i < q.rows; ++i)
    for (std::int64_t j = 0; j < q.rows; ++j)
      for (std::int64_t k = 0; k < q.cols; ++k) s(i, j) += q(i, k) * values[k] * q(j, k);
  return s;
}

// X Xᵀ: a positive semi-definite matrix of rank ≤ X.cols.
inline Matrix gram(const Matrix& x) {
  return multiply(x, transpose(x));
}

// kron(a, b)[(i·b.rows + k), (j·b.cols + l)] = a(i, j) · b(k, l). With vec stacking the
// columns of an H×I matrix W (index i·H + h), (A ⊗ G) vec(W) = vec(G W A).
inline Matrix kron(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows * b.rows, a.cols * b.cols);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < a.cols; ++j)
      for (std::int64_t k = 0; k < b.rows; ++k)
        for (std::int64_t l = 0; l < b.cols; ++l)
          c(i * b.rows + k, j * b.cols + l) = a(i, j) * b(k, l);
  return c;
}

// Column-stacked vec of an H×I matrix.
inline std::vector<double> vec(const Matrix& w) {
  std::vector<double> v(static_cast<std::size_t>(w.rows * w.cols));
  for (std::int64_t i = 0; i < w.cols; ++i)
    for (std::int64_t h = 0; h < w.rows; ++h) v[static_cast<std::size_t>(i * w.rows + h)] = w(h, i);
  return v;
}

// Lower-triangular L with L Lᵀ = a; throws when a is not positive definite.
inline Matrix cholesky(const Matrix& a) {
  const std::int64_t n = a.rows;
  Matrix l(n, n);
  for (std::int64_t j = 0; j < n; ++j) {
    double diag = a(j, j);
    for (std::int64_t k = 0; k < j; ++k) diag -= l(j, k) * l(j, k);
    if (!(diag > 0)) throw std::logic_error("dense::cholesky: not positive definite");
    l(j, j) = std::sqrt(diag);
    for (std::int64_t i = j + 1; i < n; ++i) {
      double s = a(i, j);
      for (std::int64_t k = 0; k < j; ++k) s -= l(i, k) * l(j, k);
      l(i, j) = s / l(j, j);
    }
  }
  return l;
}

inline double log_det_spd(const Matrix& a) {
  const Matrix l = cholesky(a);
  double s = 0;
  for (std::int64_t i = 0; i < a.rows; ++i) s += 2.0 * std::log(l(i, i));
  return s;
}

// a⁻¹ b for symmetric positive definite a, by two triangular solves.
inline std::vector<double> solve_spd(const Matrix& a, std::vector<double> b) {
  const Matrix l = cholesky(a);
  const std::int64_t n = a.rows;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t k = 0; k < i; ++k) b[i] -= l(i, k) * b[k];
    b[i] /= l(i, i);
  }
  for (std::int64_t i = n - 1; i >= 0; --i) {
    for (std::int64_t k = i + 1; k < n; ++k) b[i] -= l(k, i) * b[k];
    b[i] /= l(i, i);
  }
  return b;
}

inline Matrix inverse_spd(const Matrix& a) {
  Matrix inv(a.rows, a.rows);
  for (std::int64_t j = 0; j < a.rows; ++j) {
    std::vector<double> e(static_cast<std::size_t>(a.rows), 0.0);
    e[j] = 1.0;
    const std::vector<double> x = solve_spd(a, e);
    for (std::int64_t i = 0; i < a.rows; ++i) inv(i, j) = x[i];
  }
  return inv;
}

}  // namespace vkmoe::bayes::dense
