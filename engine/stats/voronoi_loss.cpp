#include "engine/stats/voronoi_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

double squared_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

// |d beta1| and |d eta| between two centred atoms.
struct AtomGap {
  double gate;
  double expert;
};

AtomGap gap(const ExpertAtom& fitted, const ExpertAtom& truth) {
  const double db = fitted.expert_bias - truth.expert_bias;
  return {std::sqrt(squared_distance(fitted.gate_slope, truth.gate_slope)),
          std::sqrt(squared_distance(fitted.expert_slope, truth.expert_slope) + db * db)};
}

}  // namespace

MoeModel centre_gates(const MoeModel& model) {
  MoeModel centred = model;
  double largest = -INFINITY;
  for (const ExpertAtom& atom : model.atoms) largest = std::max(largest, atom.gate_bias);
  double total = 0;
  for (const ExpertAtom& atom : model.atoms) total += std::exp(atom.gate_bias - largest);
  const double log_total = largest + std::log(total);
  std::vector<double> mean_slope(model.dimension, 0.0);
  for (ExpertAtom& atom : centred.atoms) {
    atom.gate_bias -= log_total;
    const double mass = std::exp(atom.gate_bias);
    for (uint32_t j = 0; j < model.dimension; ++j) mean_slope[j] += mass * atom.gate_slope[j];
  }
  for (ExpertAtom& atom : centred.atoms) {
    for (uint32_t j = 0; j < model.dimension; ++j) atom.gate_slope[j] -= mean_slope[j];
  }
  return centred;
}

VoronoiLoss voronoi_loss(const MoeModel& fitted_model, const MoeModel& truth_model) {
  if (fitted_model.dimension != truth_model.dimension) {
    throw Error("voronoi_loss: fitted dimension " + std::to_string(fitted_model.dimension) +
                " differs from the true " + std::to_string(truth_model.dimension));
  }
  if (truth_model.atoms.empty()) throw Error("voronoi_loss: the true measure has no atoms");
  const MoeModel fitted = centre_gates(fitted_model);
  const MoeModel truth = centre_gates(truth_model);
  const size_t k = fitted.atoms.size(), k_true = truth.atoms.size();

  VoronoiLoss loss;
  loss.cell_of_atom.resize(k);
  std::vector<uint32_t> cell_size(k_true, 0);
  std::vector<double> cell_mass(k_true, 0.0);
  for (size_t i = 0; i < k; ++i) {
    const ExpertAtom& atom = fitted.atoms[i];
    double best = std::numeric_limits<double>::infinity();
    uint32_t best_j = 0;
    for (size_t j = 0; j < k_true; ++j) {
      const ExpertAtom& star = truth.atoms[j];
      const double db = atom.expert_bias - star.expert_bias;
      const double distance = squared_distance(atom.gate_slope, star.gate_slope) +
                              squared_distance(atom.expert_slope, star.expert_slope) + db * db;
      if (distance < best) {  // ties go to the lower index, so cells are deterministic
        best = distance;
        best_j = static_cast<uint32_t>(j);
      }
    }
    loss.cell_of_atom[i] = best_j;
    ++cell_size[best_j];
    cell_mass[best_j] += std::exp(atom.gate_bias);
  }
  for (size_t i = 0; i < k; ++i) {
    const uint32_t j = loss.cell_of_atom[i];
    const AtomGap g = gap(fitted.atoms[i], truth.atoms[j]);
    const double mass = std::exp(fitted.atoms[i].gate_bias);
    if (cell_size[j] == 1) {
      loss.exact += mass * (g.gate + g.expert);
      loss.exact_atom_distance = std::max(loss.exact_atom_distance, g.gate + g.expert);
    } else {
      loss.overfit += mass * (g.gate * g.gate + g.expert * g.expert);
      loss.overfit_atom_distance = std::max(loss.overfit_atom_distance, g.gate + g.expert);
    }
  }
  for (size_t j = 0; j < k_true; ++j) {
    loss.mass += std::abs(cell_mass[j] - std::exp(truth.atoms[j].gate_bias));
  }
  return loss;
}

double function_l2_error(const MoeModel& fitted, const MoeModel& truth,
                         const std::vector<double>& points) {
  const uint32_t d = truth.dimension;
  const size_t count = points.size() / d;
  if (count == 0) throw Error("function_l2_error: no points");
  double sum = 0;
  for (size_t i = 0; i < count; ++i) {
    const std::span<const double> x(points.data() + i * d, d);
    const double diff = evaluate(fitted, x) - evaluate(truth, x);
    sum += diff * diff;
  }
  return std::sqrt(sum / static_cast<double>(count));
}

}  // namespace vkmoe::stats
