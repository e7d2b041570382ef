#include "engine/stats/relabel.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/stats/voronoi_loss.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// Per atom, the coordinates the assignment compares: centred beta1, a, b, log sigma^2.
std::vector<std::vector<double>> atom_points(const BayesMoe& model, std::span<const double> theta) {
  const MoeModel centred = centre_gates(regression_atoms(model, theta));
  std::vector<std::vector<double>> points;
  for (uint32_t i = 0; i < model.experts; ++i) {
    const ExpertAtom& atom = centred.atoms[i];
    std::vector<double> point = atom.gate_slope;
    point.insert(point.end(), atom.expert_slope.begin(), atom.expert_slope.end());
    point.push_back(atom.expert_bias);
    point.push_back(theta[model.log_variance(i)]);
    points.push_back(std::move(point));
  }
  return points;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(sum);
}

}  // namespace

std::vector<uint32_t> match_atoms(const BayesMoe& model, std::span<const double> theta,
                                  std::span<const double> reference) {
  const uint32_t k = model.experts;
  if (theta.size() != model.parameters() || reference.size() != model.parameters()) {
    throw Error("relabel: draw and reference must have the model's parameter count");
  }
  const auto atoms = atom_points(model, theta), targets = atom_points(model, reference);
  std::vector<double> cost(size_t{k} * k);  // [reference atom][draw atom]
  for (uint32_t i = 0; i < k; ++i) {
    for (uint32_t j = 0; j < k; ++j) cost[i * k + j] = distance(targets[i], atoms[j]);
  }
  // Voronoi cells: each draw atom to its nearest reference atom.
  std::vector<uint32_t> perm(k, k);
  bool bijective = true;
  for (uint32_t j = 0; j < k; ++j) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < k; ++i) best = cost[i * k + j] < cost[best * k + j] ? i : best;
    bijective = bijective && perm[best] == k;
    perm[best] = j;
  }
  if (bijective) return perm;
  // Cheapest permutation by dynamic programming over subsets of draw atoms (k <= 8: 256 sets):
  // best[S] = least cost of matching reference atoms 0..|S|-1 to the draw atoms in S.
  const uint32_t sets = 1u << k;
  std::vector<double> best(sets, std::numeric_limits<double>::infinity());
  std::vector<uint32_t> last(sets, 0);
  best[0] = 0;
  for (uint32_t s = 0; s < sets; ++s) {
    if (!std::isfinite(best[s])) continue;
    const uint32_t i = static_cast<uint32_t>(__builtin_popcount(s));
    if (i == k) continue;
    for (uint32_t j = 0; j < k; ++j) {
      if (s & (1u << j)) continue;
      const double c = best[s] + cost[i * k + j];
      if (c < best[s | (1u << j)]) {
        best[s | (1u << j)] = c;
        last[s | (1u << j)] = j;
      }
    }
  }
  for (uint32_t s = sets - 1, i = k; i-- > 0;) {
    perm[i] = last[s];
    s &= ~(1u << last[s]);
  }
  return perm;
}

std::vector<double> permute_atoms(const BayesMoe& model, std::span<const double> theta,
                                  std::span<const uint32_t> perm) {
  const uint32_t k = model.experts, e = model.stride(), d = model.dimension;
  std::vector<double> out(theta.size());
  for (uint32_t i = 0; i < k; ++i) {
    std::copy_n(theta.begin() + size_t{perm[i]} * e, e, out.begin() + size_t{i} * e);
  }
  // Translate the gates (beta1, beta0 are the first d + 1 entries of an atom).
  const std::vector<double> shift(out.begin() + size_t{k - 1} * e,
                                  out.begin() + size_t{k - 1} * e + d + 1);
  for (uint32_t i = 0; i < k; ++i) {
    for (uint32_t j = 0; j <= d; ++j) out[size_t{i} * e + j] -= shift[j];
  }
  return out;
}

Relabelled relabel_draws(const BayesMoe& model, const PosteriorDraws& draws,
                         std::span<const double> reference) {
  Relabelled out{draws, 0};
  const uint32_t p = draws.parameters;
  for (size_t at = 0; at < draws.log_density.size(); ++at) {
    const std::span<const double> theta(draws.values.data() + at * p, p);
    const std::vector<uint32_t> perm = match_atoms(model, theta, reference);
    bool identity = true;
    for (uint32_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == i;
    if (identity) continue;
    ++out.permuted_draws;
    const std::vector<double> moved = permute_atoms(model, theta, perm);
    std::copy(moved.begin(), moved.end(), out.draws.values.begin() + at * p);
  }
  return out;
}

std::vector<double> highest_density_draw(const PosteriorDraws& draws) {
  if (draws.log_density.empty()) throw Error("relabel: no draws");
  const size_t at =
      static_cast<size_t>(std::max_element(draws.log_density.begin(), draws.log_density.end()) -
                          draws.log_density.begin());
  const auto first = draws.values.begin() + at * draws.parameters;
  return {first, first + draws.parameters};
}

}  // namespace vkmoe::stats
