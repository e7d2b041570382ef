// A softmax-gated mixture of experts regression function
//   f_G(x) = sum_i softmax_i(beta1_i . x + beta0_i) * h(x, eta_i),   eta_i = (a_i, b_i),
// with one expert family for all atoms. The mixing measure G is the list of atoms.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vkmoe::stats {

// h(x, (a, b)) with z = a . x + b: linear z, polynomial z^p, sigmoid(z), tanh(z).
enum class ExpertFamily : uint32_t { linear = 0, polynomial = 1, sigmoid = 2, tanh = 3 };

std::string_view family_name(ExpertFamily family);

// Limits the GPU kernels are compiled for (private arrays of fixed size).
inline constexpr uint32_t kMaxExperts = 8;
inline constexpr uint32_t kMaxDimension = 4;

struct ExpertAtom {
  std::vector<double> gate_slope;    // beta1, d values
  double gate_bias = 0;              // beta0
  std::vector<double> expert_slope;  // a, d values
  double expert_bias = 0;            // b
};

struct MoeModel {
  ExpertFamily family = ExpertFamily::sigmoid;
  uint32_t degree = 1;  // polynomial experts only
  uint32_t dimension = 1;
  std::vector<ExpertAtom> atoms;

  uint32_t experts() const { return static_cast<uint32_t>(atoms.size()); }
};

// Expert value and its derivative in z.
struct ExpertValue {
  double value;
  double slope;
};
ExpertValue expert_value(ExpertFamily family, uint32_t degree, double z);

double evaluate(const MoeModel& model, std::span<const double> x);

// The flat float layout the GPU kernels use: per atom [beta1 (d), beta0, a (d), b].
inline uint32_t atom_stride(uint32_t dimension) {
  return 2 * dimension + 2;
}
inline uint32_t parameter_count(uint32_t experts, uint32_t dimension) {
  return experts * atom_stride(dimension);
}
std::vector<float> pack_parameters(const MoeModel& model);
// `parameters` holds parameter_count(k, d) floats; family and degree come from `like`.
MoeModel unpack_parameters(std::span<const float> parameters, uint32_t experts,
                           const MoeModel& like);

}  // namespace vkmoe::stats
