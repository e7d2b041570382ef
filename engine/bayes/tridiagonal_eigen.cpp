#include "engine/bayes/tridiagonal_eigen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

namespace {

// QL sweeps per eigenvalue before giving up; with Wilkinson shifts two or three are typical.
constexpr int kMaxSweeps = 64;
// Inverse-iteration steps per eigenvector; one or two suffice from a random start.
constexpr int kInverseSteps = 4;
constexpr double kEps = std::numeric_limits<double>::epsilon();

// T − μI = P L U with partial pivoting (U has two superdiagonals), as in LAPACK's dgttrf, and
// the solve of (T − μI) x = b with it. A zero pivot (μ an exact eigenvalue) becomes `tiny`.
struct ShiftedLu {
  std::vector<double> d, du, du2, dl;
  std::vector<char> swapped;

  ShiftedLu(const std::vector<double>& diagonal, const std::vector<double>& coupling, double mu,
            double tiny) {
    const std::size_t n = diagonal.size();
    d.resize(n);
    du.assign(n, 0.0);
    du2.assign(n, 0.0);
    dl.assign(n, 0.0);
    swapped.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) d[i] = diagonal[i] - mu;
    for (std::size_t i = 0; i + 1 < n; ++i) du[i] = dl[i] = coupling[i];
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (std::fabs(d[i]) >= std::fabs(dl[i])) {
        if (d[i] == 0) d[i] = tiny;
        const double fact = dl[i] / d[i];
        dl[i] = fact;
        d[i + 1] -= fact * du[i];
      } else {
        const double fact = d[i] / dl[i];
        d[i] = dl[i];
        dl[i] = fact;
        const double temp = du[i];
        du[i] = d[i + 1];
        d[i + 1] = temp - fact * d[i + 1];
        if (i + 2 < n) {
          du2[i] = du[i + 1];
          du[i + 1] = -fact * du[i + 1];
        }
        swapped[i] = 1;
      }
    }
    if (n > 0 && d[n - 1] == 0) d[n - 1] = tiny;
  }

  void solve(std::vector<double>& b) const {
    const std::size_t n = d.size();
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (!swapped[i]) {
        b[i + 1] -= dl[i] * b[i];
      } else {
        const double temp = b[i];
        b[i] = b[i + 1];
        b[i + 1] = temp - dl[i] * b[i];
      }
    }
    for (std::size_t k = n; k-- > 0;) {
      double s = b[k];
      if (k + 1 < n) s -= du[k] * b[k + 1];
      if (k + 2 < n) s -= du2[k] * b[k + 2];
      b[k] = s / d[k];
    }
  }
};

void normalise(std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  s = std::sqrt(s);
  for (double& v : x) v /= s;
}

}  // namespace

void ql_implicit(Tridiagonal& t) {
  const std::int64_t n = t.n;
  std::vector<double>& d = t.diagonal;
  std::vector<double>& e = t.coupling;
  const bool vectors = !t.basis.empty();
  // For each l, chase a bulge from the first negligible coupling m back up to l with Givens
  // rotations, the shift being the eigenvalue of the leading 2×2 block nearer d[l] (Wilkinson),
  // until coupling[l] is negligible.
  //
  // A coupling is negligible relative to its two diagonals or to the whole matrix (EISPACK
  // tql2's test): with the relative test alone a cluster of zero eigenvalues — a rank-deficient
  // Gram matrix — keeps couplings of rounding size (ε‖T‖) that never fall below ε·|d| ≈ 0.
  double norm = 0;
  for (std::int64_t i = 0; i < n; ++i) norm = std::max(norm, std::fabs(d[i]) + std::fabs(e[i]));
  const double absolute = kEps * norm;
  for (std::int64_t l = 0; l < n; ++l) {
    for (int sweep = 0;; ++sweep) {
      std::int64_t m = l;
      for (; m + 1 < n; ++m) {
        const double dd = std::fabs(d[m]) + std::fabs(d[m + 1]);
        if (std::fabs(e[m]) <= kEps * dd || std::fabs(e[m]) <= absolute) break;
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
        if (!vectors) continue;
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

std::vector<double> tridiagonal_eigenvectors(const std::vector<double>& diagonal,
                                             const std::vector<double>& coupling,
                                             std::span<const double> values) {
  const std::size_t n = diagonal.size(), k = values.size();
  double norm = 0;  // ‖T‖_∞
  for (std::size_t i = 0; i < n; ++i) {
    norm = std::max(norm, std::fabs(diagonal[i]) + std::fabs(coupling[i]) +
                              (i > 0 ? std::fabs(coupling[i - 1]) : 0.0));
  }
  if (norm == 0) norm = 1;
  const double tiny = kEps * norm;
  const double cluster_gap = 1e-3 * norm;  // LAPACK's ortol

  std::vector<double> out(n * k);
  std::vector<double> x(n);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  std::size_t cluster_start = 0;
  for (std::size_t j = 0; j < k; ++j) {
    if (j > 0 && values[j - 1] - values[j] > cluster_gap) cluster_start = j;
    const ShiftedLu lu(diagonal, coupling, values[j], tiny);
    for (double& v : x) {  // a fixed pseudo-random start: reproducible, never orthogonal
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      v = static_cast<double>(state >> 11) * 0x1.0p-53 - 0.5;
    }
    for (int step = 0; step < kInverseSteps; ++step) {
      normalise(x);
      lu.solve(x);
      // Close eigenvalues have ill-determined vectors: keep them orthogonal to the cluster's.
      for (std::size_t c = cluster_start; c < j; ++c) {
        const double* y = &out[c * n];
        double dot = 0;
        for (std::size_t i = 0; i < n; ++i) dot += x[i] * y[i];
        for (std::size_t i = 0; i < n; ++i) x[i] -= dot * y[i];
      }
    }
    normalise(x);
    std::copy(x.begin(), x.end(), out.begin() + static_cast<std::ptrdiff_t>(j * n));
  }
  return out;
}

}  // namespace vkmoe::bayes
