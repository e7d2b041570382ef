// Eigenpairs of a symmetric tridiagonal matrix (part of symmetric_eigen):
//  - implicit QL sweeps with Wilkinson shifts for the eigenvalues, rotating an accumulated
//    basis along when one is given;
//  - inverse iteration for the eigenvectors of a few chosen eigenvalues, with vectors of
//    close eigenvalues re-orthogonalised against each other (as LAPACK's dstein does).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/householder_tridiagonal.h"

namespace vkmoe::bayes {

// On return t.diagonal holds the eigenvalues (unordered) and, when t.basis is not empty, row j
// of t.basis the eigenvector of diagonal[j]. Throws BayesError when the sweeps do not converge.
void ql_implicit(Tridiagonal& t);

// Unit eigenvectors of the tridiagonal (diagonal, coupling) for `values` (descending), as rows
// of a [values.size(), n] row-major matrix.
std::vector<double> tridiagonal_eigenvectors(const std::vector<double>& diagonal,
                                             const std::vector<double>& coupling,
                                             std::span<const double> values);

}  // namespace vkmoe::bayes
