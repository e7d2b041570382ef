#include "engine/bayes/laplace_fit.h"

#include <chrono>
#include <string>
#include <utility>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/evidence_prior_precision.h"
#include "engine/bayes/expert_weight_norms.h"
#include "engine/bayes/fit_checkpoint.h"
#include "engine/bayes/glm_validation.h"
#include "engine/bayes/kfac.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
#include "engine/model/saved_forward.h"

namespace vkmoe::bayes {

namespace {

using Clock = std::chrono::steady_clock;

std::string_view bytes_of(const std::vector<uint32_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(uint32_t)};
}

// What changes the accumulated curvature: a checkpoint must agree on all of it.
std::string curvature_settings(const LaplaceFitOptions& o) {
  return "rank=" + std::to_string(o.rank) + ";fisher=" + std::string(fisher_type_name(o.fisher)) +
         ";layers=" + describe_layers(o.layers) + ";seed=" + std::to_string(o.seed) +
         ";fold_every=" + std::to_string(o.fold_every) +
         ";row_bytes=" + std::to_string(o.kfac_budget.row_bytes);
}

void check_checkpoint(const FitCheckpointHeader& c, const FitCheckpointHeader& expected,
                      std::int64_t examples, const std::filesystem::path& path) {
  const auto refuse = [&](const std::string& what) {
    throw BayesError(path.string() + ": --resume: the checkpoint " + what +
                     "; delete it to start afresh");
  };
  if (c.model_fingerprint != expected.model_fingerprint) {
    refuse("is of model " + fingerprint_hex(c.model_fingerprint) + ", not " +
           fingerprint_hex(expected.model_fingerprint));
  }
  if (c.data_fingerprint != expected.data_fingerprint) refuse("is of other training data");
  if (c.settings != expected.settings) {
    refuse("was made with " + c.settings + ", not " + expected.settings);
  }
  if (c.layers != expected.layers || c.h != expected.h || c.i != expected.i ||
      c.experts != expected.experts || c.rank != expected.rank) {
    refuse("has other layers or shapes");
  }
  if (c.next_example < 0 || c.next_example > examples) refuse("points past the data");
}

}  // namespace

std::uint64_t fit_data_fingerprint(std::span<const FitExample> examples) {
  std::uint64_t hash = kFnv1a64Offset;
  for (const FitExample& e : examples) {
    const std::string sizes = std::to_string(e.prompt.size()) + "/" +
                              std::to_string(e.answers.size()) + "/" + std::to_string(e.label);
    hash = fnv1a64(sizes, hash);
    hash = fnv1a64(bytes_of(e.prompt), hash);
    hash = fnv1a64(bytes_of(e.answers), hash);
  }
  return hash;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& output) {
  return output.string() + ".checkpoint";
}

void check_laplace_fit_options(const LaplaceFitOptions& o) {
  check_prior_options(o.prior_mean, o.prior_precision);
  if (o.prior_precision.choice == PrecisionChoice::kValidation) {
    if (o.validation.empty()) {
      throw BayesError("--prior-precision val needs validation items (--val FILE)");
    }
    if (o.per_layer) {
      throw BayesError("--per-layer applies to --prior-precision evidence only: val chooses one λ");
    }
  }
  if (o.rank < 1) throw BayesError("--rank " + std::to_string(o.rank) + ": expected ≥ 1");
  if (!(o.temperature > 0)) throw BayesError("--temperature: expected a number > 0");
  if (o.fold_every < 1) throw BayesError("--fold-every: expected ≥ 1");
  if (o.checkpoint_every < 0 || o.checkpoint_every % o.fold_every != 0) {
    throw BayesError("--checkpoint-every " + std::to_string(o.checkpoint_every) +
                     ": expected a multiple of --fold-every " + std::to_string(o.fold_every) +
                     " (checkpoints are taken where the factors are folded)");
  }
  if (o.layers.empty()) throw BayesError("--layers: no MoE layer selected");
}

LaplaceFitResult fit_laplace(vk::Context& context, const model::ModelWeights& weights,
                             std::span<const FitExample> examples, const LaplaceFitOptions& options,
                             const std::function<void(const FitProgress&)>& progress) {
  check_laplace_fit_options(options);
  const ModelConfig& config = weights.config;
  const auto total = static_cast<std::int64_t>(examples.size());
  if (total == 0) throw BayesError("laplace fit: no training examples");

  FitCheckpointHeader header;
  header.model_fingerprint = model_fingerprint(config);
  header.data_fingerprint = fit_data_fingerprint(examples);
  header.settings = curvature_settings(options);
  header.layers = options.layers;
  header.h = config.hidden_size;
  header.i = config.moe_intermediate_size;
  header.experts = config.num_experts;
  header.rank = options.rank;

  KfacAccumulator kfac(context, weights, options.layers, options.rank, options.kfac_budget);
  LaplaceFitResult result;
  const std::filesystem::path checkpoint = checkpoint_path(options.output);
  if (options.resume && std::filesystem::exists(checkpoint)) {
    FitCheckpoint c = read_fit_checkpoint(checkpoint);
    check_checkpoint(c.header, header, total, checkpoint);
    kfac.streams() = std::move(c.streams);
    result.resumed_at = c.header.next_example;
    result.log_likelihood = c.header.log_likelihood;
  }

  const Clock::time_point start = Clock::now();
  for (std::int64_t index = result.resumed_at; index < total; ++index) {
    const FitExample& example = examples[static_cast<std::size_t>(index)];
    {
      const model::SavedForward forward(context, weights, example.prompt);
      result.log_likelihood += kfac.add_example(
          forward, {example.answers, example.label, static_cast<std::uint64_t>(index)},
          options.fisher, options.seed);
    }
    const std::int64_t done = index + 1;
    if (done % options.fold_every == 0 || done == total) kfac.fold();
    if (options.checkpoint_every > 0 && done % options.checkpoint_every == 0 && done < total) {
      header.next_example = done;
      header.log_likelihood = result.log_likelihood;
      write_fit_checkpoint(checkpoint, header, kfac.streams());
    }
    if (progress) {
      FitProgress p;
      p.done = done;
      p.total = total;
      p.resumed_at = result.resumed_at;
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      p.examples_per_second = static_cast<double>(done - result.resumed_at) / seconds;
      p.eta_seconds = static_cast<double>(total - done) / p.examples_per_second;
      progress(p);
    }
    if (options.stop_after > 0 && done == options.stop_after && done < total) return result;
  }

  Posterior& posterior = result.posterior;
  posterior.model_fingerprint = header.model_fingerprint;
  posterior.rank = options.rank;
  posterior.fisher = options.fisher;
  posterior.prior_mean = options.prior_mean;
  posterior.temperature = options.temperature;
  for (std::size_t t = 0; t < options.layers.size(); ++t) {
    LayerPosterior layer;
    layer.layer = options.layers[t];
    for (const ExpertFactorStream& s : kfac.streams()[t]) layer.experts.push_back(s.factors());
    posterior.layers.push_back(std::move(layer));
  }
  if (options.prior_precision.choice == PrecisionChoice::kFixed) {
    posterior.prior_precision.assign(options.per_layer ? options.layers.size() : 1,
                                     options.prior_precision.value);
  } else if (options.prior_precision.choice == PrecisionChoice::kValidation) {
    const std::vector<ValidationJacobians> data =
        gather_validation_jacobians(context, weights, options.validation, options.layers);
    result.validation = choose_by_validation(
        log_grid(kValidationGridMin, kValidationGridMax, kValidationGridPoints),
        [&](double lambda) { return glm_validation_nll(posterior, data, lambda, {}); });
    posterior.prior_precision = {result.validation.prior_precision};
  } else {
    EvidenceData data;
    data.log_likelihood = result.log_likelihood;
    data.squared_distance =
        down_proj_squared_distances(context, weights, options.layers, options.prior_mean);
    result.evidence = set_prior_precision_by_evidence(posterior, data, options.per_layer);
  }
  write_posterior_file(options.output, posterior);
  std::filesystem::remove(checkpoint);
  result.complete = true;
  return result;
}

}  // namespace vkmoe::bayes
