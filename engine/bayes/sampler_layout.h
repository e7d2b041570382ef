// One layer's expert posteriors in the f32 buffers ops/posterior_sample.h reads: every expert's
// eigenvectors zero-padded to one rank R, and its spectra as [λᴳ (R), λᴬ (R), M]. A padded
// direction has eigenvalue 0, so its sampling scale (0 + λ)^{-½} − λ^{-½} is 0 and it adds
// nothing to a draw.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/kron_posterior.h"

namespace vkmoe::bayes {

struct SamplerBuffers {
  std::int64_t experts = 0, h = 0, i = 0, rank = 0;
  std::vector<float> q_g;      // [experts, h, rank]
  std::vector<float> q_a;      // [experts, i, rank]
  std::vector<float> spectra;  // [experts, 2·rank + 1]
};

// Throws BayesError when the experts' H or I differ, or an expert's factors hold more than
// `rank` eigenpairs.
SamplerBuffers pack_for_sampler(std::span<const KronExpertFactors> experts, std::int64_t rank);

}  // namespace vkmoe::bayes
