// Hellinger distance between two conditional densities p(y | x) of Gaussian mixtures of experts
// (bayes_model.h), the metric in which the posterior of the density contracts.
//
// With a common design distribution mu for X, the Hellinger distance between the joint
// densities mu(x) p(y | x) and mu(x) q(y | x) is
//   h(p, q)^2 = E_{x ~ mu} [ 1 - BC(x) ],   BC(x) = integral sqrt(p(y | x) q(y | x)) dy,
// (h in [0, 1], the 1/2-normalised convention). Here:
//   - the integral over y is by quadrature: at fixed x both densities are one-dimensional
//     Gaussian mixtures, and the real line is cut at every component's mean + {0, ±1, ±2, ±3,
//     ±4, ±6, ±9, ±12} standard deviations, with 10-point Gauss-Legendre on each piece. Every
//     component is then smooth on the pieces that hold its mass, whatever the ratio of the
//     scales (a 0.001-wide and a 10-wide Gaussian agree with the closed form to 1e-15); past
//     12 sd a component's contribution to sqrt(pq) is below e^-36 of its peak, and is dropped.
//   - the expectation over x is a plain average over points drawn from mu (box_points of
//     simulate.h for the uniform design), which the caller supplies.
#pragma once

#include <span>
#include <vector>

#include "engine/stats/bayes_model.h"

namespace vkmoe::stats {

// A one-dimensional Gaussian mixture: weights (summing to 1), means, standard deviations.
struct GaussianMixture1d {
  std::vector<double> weight;
  std::vector<double> mean;
  std::vector<double> sd;
};

// p(. | x, theta) of the model at one point x (d values).
GaussianMixture1d conditional_density(const BayesMoe& model, std::span<const double> theta,
                                      std::span<const double> x);

// integral sqrt(p q) dy, by the quadrature above.
double bhattacharyya_coefficient(const GaussianMixture1d& p, const GaussianMixture1d& q);

// h(p_theta, p_truth) over `points` (row-major, d per point). The models may have different
// numbers of experts but must share the expert family and dimension.
double hellinger_distance(const BayesMoe& model, std::span<const double> theta,
                          const BayesMoe& truth_model, std::span<const double> truth,
                          std::span<const double> points);

}  // namespace vkmoe::stats
