// Householder reduction of a dense symmetric matrix to tridiagonal form, S = Q T Qᵀ with
// Q = H_0 H_1 ⋯ H_{n−3}, H_k = I − 2 v_k v_kᵀ (v_k zero above row k+1). Part of
// symmetric_eigen: Q is either accumulated (every eigenvector wanted) or kept as its reflectors
// and applied to the few tridiagonal eigenvectors wanted (top r: O(n²r) instead of O(n³)).
#pragma once

#include <cstdint>
#include <vector>

namespace vkmoe::bayes {

struct Tridiagonal {
  std::int64_t n = 0;
  std::vector<double> diagonal;    // [n]
  std::vector<double> coupling;    // [n]: coupling[i] joins rows i and i+1; coupling[n−1] = 0
  std::vector<double> basis;       // accumulated: [n, n], row j = column j of Q
  std::vector<double> reflectors;  // otherwise: [n, n], row k = v_k (zero when H_k = I)
};

// `a`: the symmetric n×n row-major matrix, consumed.
Tridiagonal householder_tridiagonalise(std::vector<double> a, std::int64_t n, bool accumulate);

// x ← Q x for a vector x of length n, from the reflectors.
void apply_householder_basis(const Tridiagonal& t, double* x);

}  // namespace vkmoe::bayes
