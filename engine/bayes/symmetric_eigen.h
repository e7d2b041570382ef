// Eigenvalues and eigenvectors of a dense real symmetric matrix, in double precision, written
// here (no LAPACK): Householder reduction to tridiagonal form, then implicit QL sweeps with
// Wilkinson shifts on the tridiagonal matrix, the rotations accumulated into the eigenvectors.
// O(n³) time, O(n²) memory. Used to keep the KFAC factors A and G as their top-r eigenpairs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkmoe::bayes {

struct EigenPairs {
  std::int64_t n = 0;           // dimension of the matrix
  std::vector<double> values;   // [k], descending
  std::vector<double> vectors;  // [n, k] row-major: column j is the unit eigenvector of values[j]
                                // (the Q_G [H×r] / Q_A [I×r] layout of ops/posterior_sample.h)

  std::int64_t count() const { return static_cast<std::int64_t>(values.size()); }
  double vector(std::int64_t row, std::int64_t j) const { return vectors[row * count() + j]; }
};

// Every eigenpair of the symmetric n×n row-major `matrix` ((S + Sᵀ)/2 is used, so rounding
// asymmetry of an accumulated Gram matrix does no harm). Throws BayesError when the size is
// not n·n, an entry is not finite, or the QL sweeps do not converge.
EigenPairs symmetric_eigen(std::span<const double> matrix, std::int64_t n);

// The r largest eigenpairs (0 ≤ r ≤ n).
EigenPairs symmetric_eigen_top(std::span<const double> matrix, std::int64_t n, std::int64_t r);

}  // namespace vkmoe::bayes
