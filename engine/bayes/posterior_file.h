// A fitted posterior on disk: one plain safetensors file that Python's `safetensors` opens
// (DESIGN.md "Bayesian-MoE", files). Format version 1:
//   layers.{l}.experts.{e}.qg  F32 [H, r_G]  eigenvectors of G (columns)
//   layers.{l}.experts.{e}.lg  F32 [r_G]     eigenvalues of G, descending
//   layers.{l}.experts.{e}.qa  F32 [I, r_A]  eigenvectors of A
//   layers.{l}.experts.{e}.la  F32 [r_A]     eigenvalues of A
//   layers.{l}.experts.{e}.m   I64 [1]       routed token occurrences M
//   lambda                     F32 [1] (one λ for the model) or [layers] (one per layer)
//   temperature                F32 [1]
// metadata: format, format_version "1", model_fingerprint (16 hex digits), layers ("1,2,3"),
// rank, fisher, prior_mean, lambda_scope ("model" | "layer").
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/bayes/fisher_type.h"
#include "engine/bayes/kron_posterior.h"
#include "engine/bayes/prior_options.h"

namespace vkmoe::bayes {

inline constexpr int kPosteriorFormatVersion = 1;

struct LayerPosterior {
  std::int64_t layer = 0;  // index of the decoder layer in the model
  std::vector<KronExpertFactors> experts;
};

struct Posterior {
  std::uint64_t model_fingerprint = 0;  // model_fingerprint.h
  std::int64_t rank = 0;                // the requested r (an expert's factors may hold fewer)
  FisherType fisher = FisherType::kExact;
  PriorMean prior_mean = PriorMean::kZero;
  double temperature = 1.0;
  std::vector<double> prior_precision;  // one λ, or one per entry of `layers`
  std::vector<LayerPosterior> layers;   // ascending layer index
};

// The shape of a fit, for sizing its file before it exists (`vkmoe plan`): every expert of
// every layer with H×I down_proj and factors at ranks min(rank, H), min(rank, I).
struct PosteriorShape {
  std::vector<std::int64_t> layers;
  std::int64_t experts = 0, h = 0, i = 0, rank = 0;
  bool lambda_per_layer = false;
  FisherType fisher = FisherType::kExact;
  PriorMean prior_mean = PriorMean::kZero;
};

// Exact size in bytes of the file write_posterior_file writes for such a posterior.
std::uint64_t posterior_file_bytes(const PosteriorShape& shape);

// Throws BayesError for an inconsistent posterior (λ count, layer order, factor shapes) and
// WriteError naming the path when the file cannot be written. Atomic: the target is replaced
// whole or left untouched.
void write_posterior_file(const std::filesystem::path& path, const Posterior& posterior);

// Reads and checks a posterior file. Throws LoadError naming the path: a file of another format
// or version, missing or misshapen tensors, and — before anything else is read — a posterior
// whose model fingerprint differs from `model_fingerprint` (both named).
Posterior read_posterior_file(const std::filesystem::path& path, std::uint64_t model_fingerprint);

}  // namespace vkmoe::bayes
