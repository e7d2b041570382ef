#include "engine/stats/moe_model.h"

#include <algorithm>
#include <cmath>

namespace vkmoe::stats {

std::string_view family_name(ExpertFamily family) {
  switch (family) {
    case ExpertFamily::linear:
      return "linear";
    case ExpertFamily::polynomial:
      return "polynomial";
    case ExpertFamily::sigmoid:
      return "sigmoid";
    case ExpertFamily::tanh:
      return "tanh";
  }
  return "?";
}

ExpertValue expert_value(ExpertFamily family, uint32_t degree, double z) {
  switch (family) {
    case ExpertFamily::linear:
      return {z, 1.0};
    case ExpertFamily::polynomial: {
      // z^p by repeated products: pow() of a negative base is what GLSL leaves undefined, and
      // the kernel does the same so both agree.
      double below = 1.0;  // z^(p-1)
      for (uint32_t i = 1; i < degree; ++i) below *= z;
      return {below * z, static_cast<double>(degree) * below};
    }
    case ExpertFamily::sigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-z));
      return {s, s * (1.0 - s)};
    }
    case ExpertFamily::tanh: {
      const double t = std::tanh(z);
      return {t, 1.0 - t * t};
    }
  }
  return {0, 0};
}

double evaluate(const MoeModel& model, std::span<const double> x) {
  const size_t k = model.atoms.size();
  std::vector<double> logits(k);
  double largest = -INFINITY;
  for (size_t i = 0; i < k; ++i) {
    const ExpertAtom& atom = model.atoms[i];
    double g = atom.gate_bias;
    for (uint32_t j = 0; j < model.dimension; ++j) g += atom.gate_slope[j] * x[j];
    logits[i] = g;
    largest = std::max(largest, g);
  }
  double total = 0, weighted = 0;
  for (size_t i = 0; i < k; ++i) {
    const ExpertAtom& atom = model.atoms[i];
    double z = atom.expert_bias;
    for (uint32_t j = 0; j < model.dimension; ++j) z += atom.expert_slope[j] * x[j];
    const double w = std::exp(logits[i] - largest);
    total += w;
    weighted += w * expert_value(model.family, model.degree, z).value;
  }
  return weighted / total;
}

std::vector<float> pack_parameters(const MoeModel& model) {
  const uint32_t d = model.dimension;
  std::vector<float> flat;
  flat.reserve(parameter_count(model.experts(), d));
  for (const ExpertAtom& atom : model.atoms) {
    for (uint32_t j = 0; j < d; ++j) flat.push_back(static_cast<float>(atom.gate_slope[j]));
    flat.push_back(static_cast<float>(atom.gate_bias));
    for (uint32_t j = 0; j < d; ++j) flat.push_back(static_cast<float>(atom.expert_slope[j]));
    flat.push_back(static_cast<float>(atom.expert_bias));
  }
  return flat;
}

MoeModel unpack_parameters(std::span<const float> parameters, uint32_t experts,
                           const MoeModel& like) {
  MoeModel model;
  model.family = like.family;
  model.degree = like.degree;
  model.dimension = like.dimension;
  const uint32_t d = like.dimension;
  const uint32_t stride = atom_stride(d);
  for (uint32_t i = 0; i < experts; ++i) {
    const float* p = parameters.data() + i * stride;
    ExpertAtom atom;
    atom.gate_slope.assign(p, p + d);
    atom.gate_bias = p[d];
    atom.expert_slope.assign(p + d + 1, p + 2 * d + 1);
    atom.expert_bias = p[2 * d + 1];
    model.atoms.push_back(std::move(atom));
  }
  return model;
}

}  // namespace vkmoe::stats
