// The low-rank Kronecker-factored Laplace posterior of one routed expert's down_proj W (H×I),
// DESIGN.md "Bayesian-MoE":
//   precision P = (A ⊗ G)/(M·T) + λI  over the D = H·I weights (vec stacks W's columns),
// with A ≈ Q_A Λ_A Q_Aᵀ and G ≈ Q_G Λ_G Q_Gᵀ kept at ranks r_A, r_G. In the orthonormal basis
// q_A,i ⊗ q_G,j (the matrix q_G,j q_A,iᵀ) P has eigenvalues c_ji + λ with
// c_ji = λᴳ_j λᴬ_i/(M·T); on the other D − r_A·r_G directions it is λ.
// Everything here is closed-form in the eigenpairs: no D×D matrix is ever formed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/prior_options.h"
#include "engine/bayes/symmetric_eigen.h"

namespace vkmoe::bayes {

struct KronExpertFactors {
  EigenPairs g;       // of G (H×H): g.n = H, vectors [H, r_G]
  EigenPairs a;       // of A (I×I): a.n = I, vectors [I, r_A]
  double tokens = 0;  // M, the routed token occurrences behind A and G (0: an expert unseen)

  std::int64_t h() const { return g.n; }
  std::int64_t i() const { return a.n; }
  std::int64_t params() const { return g.n * a.n; }  // D
};

struct PosteriorScale {
  double prior_precision = 1.0;  // λ > 0
  double temperature = 1.0;      // T > 0
};

// Throws BayesError when the eigenpairs' shapes disagree, a number is not finite, M < 0, or
// λ, T ≤ 0. Every function below calls it.
void check_posterior(const KronExpertFactors& f, const PosteriorScale& s);

// c_ji = λᴳ_j λᴬ_i/(M·T), [r_G, r_A] row-major; eigenvalues below zero (rounding of a
// positive semi-definite factor) count as zero, and an expert with M = 0 has no curvature.
std::vector<double> kron_curvature(const KronExpertFactors& f, const PosteriorScale& s);

// log det P = Σ_ji log(c_ji + λ) + (D − r_A·r_G) log λ.
double log_det_precision(const KronExpertFactors& f, const PosteriorScale& s);

// The per-direction factor of the sampling formula, (c_ji + λ)^{-½} − λ^{-½}, [r_G, r_A]
// row-major: ΔW = λ^{-½} Z + Q_G [scale ∘ (Q_Gᵀ Z Q_A)] Q_Aᵀ has covariance P⁻¹.
std::vector<double> sampling_scale(const KronExpertFactors& f, const PosteriorScale& s);

// J = Σ_t g_t a_tᵀ (H×I), given by its terms; never formed.
struct OuterProductSum {
  std::span<const double> g;  // [terms, H]
  std::span<const double> a;  // [terms, I]
  std::int64_t terms = 0;
};

// ⟨J₁, P⁻¹ J₂⟩ = ⟨J₁, J₂⟩/λ + Σ_ji ((c_ji + λ)⁻¹ − λ⁻¹) (Q_Gᵀ J₁ Q_A)_ji (Q_Gᵀ J₂ Q_A)_ji, with
// ⟨J₁, J₂⟩ = Σ_{t,t'} (g_t·g'_t')(a_t·a'_t'): the covariance of ⟨J₁, ΔW⟩ and ⟨J₂, ΔW⟩ under the
// posterior, one entry of the linearised predictive's logit covariance.
double posterior_covariance(const KronExpertFactors& f, const PosteriorScale& s,
                            const OuterProductSum& j1, const OuterProductSum& j2);
inline double posterior_variance(const KronExpertFactors& f, const PosteriorScale& s,
                                 const OuterProductSum& j) {
  return posterior_covariance(f, s, j, j);
}

// ‖θ* − μ₀‖² for one expert's fine-tuned weights: Σ w² for μ₀ = 0, and 0 for μ₀ = θ*.
double squared_distance_to_prior_mean(std::span<const float> w_map, PriorMean mean);

}  // namespace vkmoe::bayes
