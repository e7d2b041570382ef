#include "engine/stats/merge_truncate_merge.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

double distance(const WeightedAtom& a, const WeightedAtom& b) {
  if (a.location.size() != b.location.size()) {
    throw Error("merge-truncate-merge: atoms of different dimensions");
  }
  double sum = 0;
  for (size_t j = 0; j < a.location.size(); ++j) {
    sum += (a.location[j] - b.location[j]) * (a.location[j] - b.location[j]);
  }
  return std::sqrt(sum);
}

// Index of the atom of `kept` nearest to `atom` (kept is not empty).
size_t nearest(const std::vector<WeightedAtom>& kept, const WeightedAtom& atom) {
  size_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < kept.size(); ++i) {
    const double d = distance(kept[i], atom);
    if (d < best_distance) {
      best_distance = d;
      best = i;
    }
  }
  return best;
}

void by_decreasing_weight(std::vector<WeightedAtom>& atoms) {
  std::stable_sort(atoms.begin(), atoms.end(), [](const WeightedAtom& a, const WeightedAtom& b) {
    return a.weight > b.weight;
  });
}

}  // namespace

std::vector<WeightedAtom> merge_atoms(std::vector<WeightedAtom> atoms, double max_distance) {
  by_decreasing_weight(atoms);
  std::vector<WeightedAtom> kept;
  for (WeightedAtom& atom : atoms) {
    if (!kept.empty()) {
      WeightedAtom& into = kept[nearest(kept, atom)];
      if (distance(into, atom) <= max_distance) {
        const double total = into.weight + atom.weight;
        // Weighted mean; two weightless atoms (possible after underflow) average plainly.
        const double share = total > 0 ? atom.weight / total : 0.5;
        for (size_t j = 0; j < into.location.size(); ++j) {
          into.location[j] += share * (atom.location[j] - into.location[j]);
        }
        into.weight = total;
        continue;
      }
    }
    kept.push_back(std::move(atom));
  }
  by_decreasing_weight(kept);
  return kept;
}

std::vector<WeightedAtom> truncate_atoms(std::vector<WeightedAtom> atoms, double min_weight) {
  if (atoms.empty()) return atoms;
  by_decreasing_weight(atoms);
  std::vector<WeightedAtom> kept, dropped;
  for (size_t i = 0; i < atoms.size(); ++i) {
    (i == 0 || atoms[i].weight >= min_weight ? kept : dropped).push_back(std::move(atoms[i]));
  }
  for (const WeightedAtom& atom : dropped) kept[nearest(kept, atom)].weight += atom.weight;
  by_decreasing_weight(kept);
  return kept;
}

std::vector<WeightedAtom> merge_truncate_merge(std::vector<WeightedAtom> atoms,
                                               const MtmThresholds& thresholds) {
  atoms = merge_atoms(std::move(atoms), thresholds.merge_distance);
  atoms = truncate_atoms(std::move(atoms), thresholds.min_weight);
  return merge_atoms(std::move(atoms), thresholds.merge_distance);
}

MtmThresholds mtm_thresholds(uint32_t samples, double merge_scale, double weight_scale) {
  if (samples < 2 || !(merge_scale > 0) || !(weight_scale > 0)) {
    throw Error("merge-truncate-merge: thresholds need n >= 2 and positive scales");
  }
  const double n = samples;
  const double omega = merge_scale * std::pow(std::log(n) / n, 0.25);
  return {omega, weight_scale * omega * omega};
}

std::vector<WeightedAtom> moe_atoms(const BayesMoe& model, const Dataset& data,
                                    std::span<const double> theta) {
  const uint32_t k = model.experts, d = model.dimension;
  if (theta.size() != model.parameters() || data.dimension != d || data.samples == 0) {
    throw Error("merge-truncate-merge: parameters or data do not match the model");
  }
  std::vector<WeightedAtom> atoms(k);
  for (uint32_t i = 0; i < k; ++i) {
    std::vector<double>& at = atoms[i].location;
    at.assign(theta.begin() + model.gate_slope(i), theta.begin() + model.gate_slope(i) + d);
    at.insert(at.end(), theta.begin() + model.expert_slope(i),
              theta.begin() + model.expert_slope(i) + d);
    at.push_back(theta[model.expert_bias(i)]);
  }
  std::vector<double> logit(k);
  for (uint32_t s = 0; s < data.samples; ++s) {
    const float* x = data.row(s);
    double largest = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) {
      logit[i] = theta[model.gate_bias(i)];
      for (uint32_t j = 0; j < d; ++j) logit[i] += theta[model.gate_slope(i) + j] * x[j];
      largest = std::max(largest, logit[i]);
    }
    double sum = 0;
    for (uint32_t i = 0; i < k; ++i) sum += std::exp(logit[i] - largest);
    for (uint32_t i = 0; i < k; ++i) {
      atoms[i].weight += std::exp(logit[i] - largest) / sum / data.samples;
    }
  }
  return atoms;
}

MtmKPosterior mtm_k_posterior(const BayesMoe& model, const Dataset& data,
                              const PosteriorDraws& draws, const MtmThresholds& thresholds) {
  if (draws.parameters != model.parameters() || draws.chains * draws.draws == 0) {
    throw Error("merge-truncate-merge: no draws, or draws of another model");
  }
  MtmKPosterior out;
  out.probability.assign(model.experts, 0.0);
  const double each = 1.0 / (double(draws.chains) * draws.draws);
  for (uint32_t c = 0; c < draws.chains; ++c) {
    for (uint32_t t = 0; t < draws.draws; ++t) {
      const std::span<const double> theta(
          draws.values.data() + (size_t{c} * draws.draws + t) * draws.parameters, draws.parameters);
      const size_t left = merge_truncate_merge(moe_atoms(model, data, theta), thresholds).size();
      out.probability[left - 1] += each;
    }
  }
  out.mode_k =
      static_cast<uint32_t>(std::max_element(out.probability.begin(), out.probability.end()) -
                            out.probability.begin()) +
      1;
  return out;
}

}  // namespace vkmoe::stats
