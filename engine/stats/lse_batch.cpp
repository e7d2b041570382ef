#include "engine/stats/lse_batch.h"

#include "engine/vk/error.h"

namespace vkmoe::stats {

void validate_batch(const LseBatch& batch) {
  if (batch.experts == 0 || batch.experts > kMaxExperts) {
    throw Error("lse: " + std::to_string(batch.experts) + " experts (supported: 1.." +
                std::to_string(kMaxExperts) + ")");
  }
  if (batch.dimension == 0 || batch.dimension > kMaxDimension) {
    throw Error("lse: dimension " + std::to_string(batch.dimension) + " (supported: 1.." +
                std::to_string(kMaxDimension) + ")");
  }
  if (batch.family == ExpertFamily::polynomial && batch.degree == 0) {
    throw Error("lse: polynomial experts need a degree of at least 1");
  }
  if (batch.start.size() != size_t{batch.problems()} * batch.parameters()) {
    throw Error("lse: " + std::to_string(batch.start.size()) + " starting values for " +
                std::to_string(batch.problems()) + " problems of " +
                std::to_string(batch.parameters()) + " parameters");
  }
  for (uint32_t index : batch.dataset_of_problem) {
    if (index >= batch.datasets.size()) {
      throw Error("lse: a problem names data set " + std::to_string(index) + " of " +
                  std::to_string(batch.datasets.size()));
    }
  }
  for (const Dataset* data : batch.datasets) {
    if (data == nullptr || data->samples == 0) throw Error("lse: an empty data set");
    if (data->dimension != batch.dimension) {
      throw Error("lse: a data set of dimension " + std::to_string(data->dimension) +
                  " in a batch of dimension " + std::to_string(batch.dimension));
    }
  }
}

}  // namespace vkmoe::stats
