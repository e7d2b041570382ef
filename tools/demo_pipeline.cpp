#include "tools/demo_pipeline.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <span>
#include <utility>

#include "engine/bayes/expert_weight_sampler.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/last_layer_laplace.h"
#include "engine/bayes/layer_ablation.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
#include "engine/bayes/predictive.h"
#include "engine/bayes/validation_prior_precision.h"
#include "engine/eval/answer_features.h"
#include "engine/eval/metrics.h"
#include "engine/eval/multiple_choice.h"
#include "engine/eval/temperature_scaling.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"
#include "tools/bayes_predictions.h"
#include "tools/fit_examples.h"
#include "tools/model_loading.h"
#include "tools/stage_progress.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kCommand = "vkmoe demo";

using Probabilities = std::vector<std::vector<double>>;  // [item][class]

// What the stages produce for one evaluation split, before metrics.
struct SplitWork {
  const DemoSplit* split = nullptr;
  std::vector<int> labels;
  std::vector<eval::AnswerFeatures> features;  // seed0's MAP forward
  Probabilities map, temperature, last_layer, ensemble, glm, mc;
  std::vector<Probabilities> ablation;  // one per left-out quarter
};

struct Ablation {
  std::string key, name;
  std::vector<std::size_t> left_out;  // positions in posterior.layers
};

// The positions the longest item of a split occupies: what its scorer's KV cache must hold (as
// `vkmoe eval` sizes it for the same items).
std::size_t max_tokens(const DemoSplit& split) {
  std::size_t n = 0;
  for (const eval::TokenizedItem& t : split.items) n = std::max(n, t.max_tokens());
  return n;
}

std::size_t item_count(const std::vector<SplitWork>& work) {
  std::size_t n = 0;
  for (const SplitWork& w : work) n += w.split->items.size();
  return n;
}

void record(DemoOutcome& outcome, const StageProgress& progress, std::string stage,
            std::size_t items) {
  outcome.stages.push_back({std::move(stage), items, progress.seconds()});
}

// The posterior as `vkmoe eval --posterior` will see it: read back from the file the fit wrote
// (the file stores F32), so the demo's Bayesian-MoE numbers are eval's to the bit.
bayes::Posterior fit_posterior(vk::Context& context, const model::ModelWeights& weights,
                               const DemoData& data, const DemoOptions& options,
                               DemoOutcome& outcome) {
  bayes::LaplaceFitOptions f;  // laplace fit's defaults (exact Fisher) but for λ
  if (!options.lambda_by_evidence) {
    f.prior_precision.choice = bayes::PrecisionChoice::kValidation;
    f.validation = fit_examples(data.validation.items);
  }
  f.layers = bayes::select_layers("all", weights.config);
  f.rank = options.rank;
  f.seed = options.seed;
  f.output = options.out / "posterior.safetensors";
  bayes::check_laplace_fit_options(f);
  const std::vector<bayes::FitExample> examples = fit_examples(data.train.items);
  StageProgress progress(kCommand, "Bayesian-MoE fit on train", examples.size(), "examples");
  bayes::fit_laplace(context, weights, examples, f, [&](const bayes::FitProgress& p) {
    progress.update(static_cast<std::size_t>(p.done));
  });
  record(outcome, progress, "Bayesian-MoE fit", examples.size());
  outcome.posterior_file = f.output;
  outcome.layers = f.layers;
  return bayes::read_posterior_file(f.output, bayes::model_fingerprint(weights.config));
}

// One MAP forward per item of train (for last-layer Laplace), validation (for the temperature)
// and every evaluation split.
std::vector<eval::AnswerFeatures> map_forward(vk::Context& context,
                                              const model::ModelWeights& weights,
                                              const DemoData& data, std::vector<SplitWork>& work,
                                              std::vector<eval::AnswerFeatures>& validation,
                                              DemoOutcome& outcome) {
  const std::size_t total =
      data.train.items.size() + data.validation.items.size() + item_count(work);
  StageProgress progress(kCommand, "MAP forward (train, validation, evaluation)", total);
  std::size_t before = 0;
  const auto features = [&](const DemoSplit& split) {
    std::vector<eval::AnswerFeatures> f = eval::answer_features(
        context, weights, split.items, [&](std::size_t done) { progress.update(before + done); });
    before += split.items.size();
    return f;
  };
  std::vector<eval::AnswerFeatures> train = features(data.train);
  validation = features(data.validation);
  for (SplitWork& w : work) w.features = features(*w.split);
  record(outcome, progress, "MAP forward", total);
  return train;
}

// MAP, temperature scaling and last-layer Laplace: host work on the MAP forward's features.
void last_layer_methods(vk::Context& context, const model::ModelWeights& weights,
                        const std::vector<eval::AnswerFeatures>& train,
                        const std::vector<eval::AnswerFeatures>& validation,
                        const DemoOptions& options, std::vector<SplitWork>& work,
                        DemoOutcome& outcome) {
  Probabilities logits;
  std::vector<int> labels;
  for (const eval::AnswerFeatures& f : validation) {
    logits.push_back(f.logits);
    labels.push_back(f.answer);
  }
  outcome.temperature = eval::fit_temperature(logits, labels).temperature;
  bayes::LastLayerPosterior last_layer = bayes::fit_last_layer_laplace(
      train, eval::lm_head_rows(context, weights, train.front().label_tokens), {});
  bayes::PredictiveOptions integration;
  integration.samples = options.glm_samples;
  integration.seed = options.seed;
  if (!options.lambda_by_evidence) {
    // The grid and rule of Bayesian-MoE's `val` (laplace fit), so both rows choose alike.
    last_layer.prior_precision =
        bayes::choose_by_validation(
            bayes::log_grid(bayes::kValidationGridMin, bayes::kValidationGridMax,
                            bayes::kValidationGridPoints),
            [&](double lambda) {
              bayes::LastLayerPosterior p = last_layer;
              p.prior_precision = lambda;
              std::vector<std::vector<double>> probabilities;
              for (std::size_t i = 0; i < validation.size(); ++i) {
                probabilities.push_back(
                    bayes::last_layer_predictive(p, validation[i], integration, i));
              }
              return eval::classification_metrics(probabilities, labels).nll;
            })
            .prior_precision;
  }
  outcome.last_layer_lambda = last_layer.prior_precision;
  for (SplitWork& w : work) {
    for (std::size_t i = 0; i < w.features.size(); ++i) {
      const eval::AnswerFeatures& f = w.features[i];
      w.labels.push_back(f.answer);
      w.map.push_back(eval::softmax(f.logits));
      w.temperature.push_back(eval::tempered_softmax(f.logits, outcome.temperature));
      w.last_layer.push_back(bayes::last_layer_predictive(last_layer, f, integration, i));
    }
  }
}

// The ablations: the full posterior without each quarter of the MoE layers that has any.
std::vector<Ablation> quarter_ablations(const bayes::Posterior& posterior,
                                        const ModelConfig& config) {
  std::vector<Ablation> out;
  for (int q = 1; q <= 4; ++q) {
    const std::vector<std::int64_t> quarter = bayes::layer_quarter(q, config);
    if (quarter.empty()) continue;
    const std::string name = "q" + std::to_string(q);
    out.push_back({"without_" + name,
                   "without " + name + " (layers " + bayes::describe_layers(quarter) + ")",
                   bayes::posterior_positions(posterior, quarter)});
  }
  return out;
}

// Bayesian-MoE (glm) and its ablations from one gather of Jacobians per item; the seed and
// item index are those `vkmoe eval` uses, so the draws of logits are the same.
void glm_methods(vk::Context& context, const model::ModelWeights& weights,
                 const bayes::Posterior& posterior, const std::vector<Ablation>& ablations,
                 const DemoOptions& options, std::vector<SplitWork>& work, DemoOutcome& outcome) {
  bayes::GlmPredictiveOptions glm;
  glm.integration.samples = options.glm_samples;
  glm.integration.seed = options.seed;
  const std::vector<std::int64_t> layers = bayes::posterior_layer_indices(posterior);
  const std::size_t total = item_count(work);
  StageProgress progress(kCommand, "Bayesian-MoE (glm) Jacobians", total);
  std::size_t done = 0;
  for (SplitWork& w : work) {
    w.ablation.resize(ablations.size());
    for (std::size_t i = 0; i < w.split->items.size(); ++i) {
      const bayes::FitExample example = fit_example(w.split->items[i]);
      const bayes::ValidationJacobians j =
          bayes::gather_validation_jacobians(context, weights, std::span(&example, 1), layers)
              .front();
      w.glm.push_back(bayes::glm_predictive(posterior, j, glm, i));
      for (std::size_t a = 0; a < ablations.size(); ++a) {
        w.ablation[a].push_back(bayes::glm_predictive(
            posterior, bayes::without_layers(j, ablations[a].left_out), glm, i));
      }
      progress.update(++done);
    }
  }
  record(outcome, progress, "Bayesian-MoE (glm)", total);
}

// Bayesian-MoE (mc) chooses its own λ by its NLL on the validation items, as `val` does for glm.
// Sampled weights run the nonlinear network, which spreads the probabilities further than the
// linearised predictive does, so the glm's λ under-fits mc (seed0, 500 validation items, full
// train fit: accuracy 0.52 at the glm's λ 10 against 0.86 for MAP; 0.84 at λ 100). The
// candidates are the validation grid's points from the glm's λ upward, two decades of them at
// the grid's half-decade step, each scored with a few weight samples.
double choose_mc_lambda(vk::Context& context, model::ModelWeights& weights,
                        const bayes::Posterior& posterior, const DemoSplit& validation,
                        const DemoOptions& options) {
  constexpr std::size_t kCandidates = 5;
  const double glm_lambda = posterior.prior_precision.front();
  std::vector<double> candidates;
  for (double lambda : bayes::log_grid(bayes::kValidationGridMin, bayes::kValidationGridMax,
                                       bayes::kValidationGridPoints)) {
    if (lambda < glm_lambda * (1 - 1e-6)) continue;  // λ is read back as f32
    if (candidates.size() < kCandidates) candidates.push_back(lambda);
  }
  if (candidates.empty()) candidates.push_back(glm_lambda);
  eval::MultipleChoiceScorer scorer(context, weights, eval::ScoringMethod::kAnswerLabels,
                                    max_tokens(validation));
  std::vector<int> labels;
  for (const eval::TokenizedItem& item : validation.items) labels.push_back(item.answer);
  const auto samples = static_cast<std::size_t>(options.mc_selection_samples);
  StageProgress progress(kCommand, "Bayesian-MoE (mc) λ on validation",
                         candidates.size() * samples * validation.items.size(), "forwards");
  std::size_t done = 0;
  // The selection is `vkmoe eval --predictive mc --samples S --prior-precision λ` on validation.
  return bayes::choose_by_validation(candidates,
                                     [&](double lambda) {
                                       bayes::GlmPredictiveOptions at;
                                       at.integration.samples = options.mc_selection_samples;
                                       at.integration.seed = options.seed;
                                       at.prior_precision = lambda;
                                       const std::size_t before = done;
                                       const Probabilities mean = sampled_probabilities(
                                           context, weights, posterior, at, scorer,
                                           validation.items, [&](std::size_t drawn, std::size_t) {
                                             done = before + drawn * validation.items.size();
                                             progress.update(done);
                                           });
                                       return eval::classification_metrics(mean, labels).nll;
                                     })
      .prior_precision;
}

// Bayesian-MoE (mc): every weight sample scores the items of every split; the mean is taken as
// `vkmoe eval --predictive mc` takes it (same order of additions).
void mc_method(vk::Context& context, model::ModelWeights& weights,
               const bayes::Posterior& posterior, const DemoData& data, const DemoOptions& options,
               std::vector<SplitWork>& work, DemoOutcome& outcome) {
  std::optional<double> lambda;
  if (!options.lambda_by_evidence) {
    lambda = choose_mc_lambda(context, weights, posterior, data.validation, options);
  }
  outcome.mc_lambda = lambda.value_or(posterior.prior_precision.front());
  std::deque<eval::MultipleChoiceScorer> scorers;  // a deque: scorers hold references, never move
  for (SplitWork& w : work) {
    scorers.emplace_back(context, weights, eval::ScoringMethod::kAnswerLabels,
                         max_tokens(*w.split));
    w.mc.assign(w.split->items.size(), {});
  }
  bayes::ExpertWeightSampler sampler(context, weights, posterior, lambda, options.seed);
  const auto samples = static_cast<std::size_t>(options.mc_samples);
  const std::size_t total = samples * item_count(work);
  StageProgress progress(kCommand, "Bayesian-MoE (mc) weight samples", total);
  std::size_t done = 0;
  for (std::size_t s = 0; s < samples; ++s) {
    sampler.draw(static_cast<std::uint32_t>(s));
    for (std::size_t k = 0; k < work.size(); ++k) {
      for (std::size_t i = 0; i < work[k].split->items.size(); ++i) {
        const std::vector<double> p = scorers[k].score(work[k].split->items[i]).probabilities;
        std::vector<double>& mean = work[k].mc[i];
        mean.resize(p.size(), 0.0);
        for (std::size_t c = 0; c < p.size(); ++c) mean[c] += p[c] / static_cast<double>(samples);
        progress.update(++done);
      }
    }
  }
  sampler.restore();
  record(outcome, progress, "Bayesian-MoE (mc)", total);
}

// The deep ensemble: the mean of the four seeds' MAP probabilities (seed0's from its forward).
void ensemble_method(vk::Context& context, const DemoData& data, std::vector<SplitWork>& work,
                     DemoOutcome& outcome) {
  for (SplitWork& w : work) w.ensemble = w.map;
  const std::size_t total = (data.members.size() - 1) * item_count(work);
  StageProgress progress(kCommand, "deep ensemble (seed1..seed3 forward)", total);
  std::size_t done = 0;
  for (std::size_t m = 1; m < data.members.size(); ++m) {
    const ModelFiles files = open_model_with_weights(data.members[m].string());
    const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    for (SplitWork& w : work) {
      eval::MultipleChoiceScorer scorer(context, weights, eval::ScoringMethod::kAnswerLabels,
                                        max_tokens(*w.split));
      for (std::size_t i = 0; i < w.split->items.size(); ++i) {
        const std::vector<double> p = scorer.score(w.split->items[i]).probabilities;
        for (std::size_t c = 0; c < p.size(); ++c) w.ensemble[i][c] += p[c];
        progress.update(++done);
      }
    }
  }
  const auto members = static_cast<double>(data.members.size());
  for (SplitWork& w : work) {
    for (std::vector<double>& p : w.ensemble) {
      for (double& v : p) v /= members;
    }
  }
  record(outcome, progress, "deep ensemble", total);
}

MethodMetrics metrics(std::string key, std::string name, const Probabilities& p,
                      const std::vector<int>& labels) {
  return {std::move(key), std::move(name), eval::classification_metrics(p, labels)};
}

}  // namespace

DemoOutcome run_demo_pipeline(const DemoData& data, const DemoOptions& options) {
  DemoOutcome outcome;
  std::vector<SplitWork> work;
  for (const DemoSplit& s : data.evaluation) work.push_back({.split = &s});
  std::filesystem::create_directories(options.out);

  vk::Context context;
  std::vector<Ablation> ablations;
  {
    const ModelFiles files = open_model_with_weights(data.members.front().string());
    model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
    const bayes::Posterior posterior = fit_posterior(context, weights, data, options, outcome);
    outcome.lambda = posterior.prior_precision;
    outcome.fisher = bayes::fisher_type_name(posterior.fisher);
    std::vector<eval::AnswerFeatures> validation;
    const std::vector<eval::AnswerFeatures> train =
        map_forward(context, weights, data, work, validation, outcome);
    last_layer_methods(context, weights, train, validation, options, work, outcome);
    ablations = quarter_ablations(posterior, weights.config);
    glm_methods(context, weights, posterior, ablations, options, work, outcome);
    mc_method(context, weights, posterior, data, options, work, outcome);
  }
  ensemble_method(context, data, work, outcome);
  outcome.validation_messages = context.validation_message_count();

  for (const SplitWork& w : work) {
    SplitMetrics s;
    s.split = w.split;
    s.methods = {metrics("map", "MAP", w.map, w.labels),
                 metrics("temperature", "Temperature scaling", w.temperature, w.labels),
                 metrics("last_layer_laplace", "Last-layer Laplace", w.last_layer, w.labels),
                 metrics("deep_ensemble", "Deep ensemble", w.ensemble, w.labels),
                 metrics("bayes_glm", "Bayesian-MoE (glm)", w.glm, w.labels),
                 metrics("bayes_mc", "Bayesian-MoE (mc)", w.mc, w.labels)};
    s.ablation.push_back(metrics("all_layers", "all layers", w.glm, w.labels));
    for (std::size_t a = 0; a < ablations.size(); ++a) {
      s.ablation.push_back(metrics(ablations[a].key, ablations[a].name, w.ablation[a], w.labels));
    }
    outcome.splits.push_back(std::move(s));
  }
  return outcome;
}

}  // namespace vkmoe::cli
