// The state of an interrupted `vkmoe laplace fit` (DESIGN.md "Bayesian-MoE", issue 6 point 7):
// every treated expert's low-rank factors as merged so far, bit for bit (f64 stored as the I64
// of their bits, so safetensors readers open the file), their chunk counts, dropped mass and M,
// the MAP log-likelihood summed so far, the index of the next example, and what the fit was
// asked (model, data, rank, Fisher type, layers, seed, fold interval), so a resume can refuse
// a checkpoint of another fit. Written atomically (safetensors_writer: temp, fsync, rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/bayes/expert_factor_stream.h"

namespace vkmoe::bayes {

struct FitCheckpointHeader {
  std::uint64_t model_fingerprint = 0;
  std::uint64_t data_fingerprint = 0;  // of the tokenized examples (laplace_fit.h)
  std::string settings;                // what must match on resume, as text
  std::int64_t next_example = 0;
  double log_likelihood = 0;
  std::vector<std::int64_t> layers;
  std::int64_t h = 0, i = 0, experts = 0, rank = 0;
};

struct FitCheckpoint {
  FitCheckpointHeader header;
  std::vector<std::vector<ExpertFactorStream>> streams;  // [layer][expert]
};

// Throws WriteError naming the path; the previous checkpoint survives a failed write.
void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpointHeader& header,
                          const std::vector<std::vector<ExpertFactorStream>>& streams);

// Throws LoadError naming the path for a file that is not a checkpoint of this version or whose
// tensors do not fit its header.
FitCheckpoint read_fit_checkpoint(const std::filesystem::path& path);

}  // namespace vkmoe::bayes
