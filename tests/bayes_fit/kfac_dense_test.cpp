// The fit's KFAC factors against dense sums on the host (issue 6 point 4): for a few examples on
// the tiny F32 models, A_e = Σ a aᵀ, G_e = Σ_passes w·g gᵀ and M_e from the backward's own
// outputs, with the exact Fisher as C separate passes of target e_c weighted by p_c (the fit
// runs √p_c-scaled targets instead). At a rank ≥ H, I nothing is truncated, so the posterior
// file's Q Λ Qᵀ must equal the dense sums to f32 rounding, over several folds.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/bayes/fisher_targets.h"
#include "engine/bayes/kfac.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/layer_selection.h"
#include "engine/bayes/model_fingerprint.h"
#include "engine/model/backward.h"
#include "engine/model/saved_forward.h"
#include "loaders/model_files.h"
#include "tests/bayes_fit/fit_support.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct DenseExpert {
  std::vector<double> g, a;  // H×H, I×I
  std::int64_t tokens = 0;
};

void add_outer(std::vector<double>& s, const float* x, std::size_t n, double w) {
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < n; ++c) s[r * n + c] += w * x[r] * x[c];
  }
}

std::vector<double> reconstruct(const bayes::EigenPairs& p) {
  const auto n = static_cast<std::size_t>(p.n);
  const auto k = static_cast<std::size_t>(p.count());
  std::vector<double> s(n * n, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t j = 0; j < k; ++j) {
        s[r * n + c] += p.vectors[r * k + j] * p.values[j] * p.vectors[c * k + j];
      }
    }
  }
  return s;
}

// ‖x − ref‖/‖ref‖, or ‖x‖ when ref = 0: in the last MoE layer only the scoring position has a
// gradient, so an expert reached by other tokens alone has G = 0 (and A ≠ 0, M > 0).
double relative_error(const std::vector<double>& x, const std::vector<double>& ref) {
  double diff = 0, norm = 0;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    diff += (x[k] - ref[k]) * (x[k] - ref[k]);
    norm += ref[k] * ref[k];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

struct Case {
  const char* model;
  bayes::FisherType fisher;
  // The KFAC row budget: 1 merges after every example (inside the fold intervals too).
  std::uint64_t row_bytes = bayes::KfacBudget{}.row_bytes;
};

class KfacDenseTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(KfacDenseTest, FactorsEqualDenseSums) {
  const ModelFiles files = open_model_files(tiny_models() / GetParam().model);
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const ModelConfig& config = weights.config;
  const auto H = static_cast<std::size_t>(config.hidden_size);
  const auto I = static_cast<std::size_t>(config.moe_intermediate_size);
  const auto E = static_cast<std::size_t>(config.num_experts);
  const std::vector<bayes::FitExample> examples = tiny_examples(5);
  const std::uint64_t seed = 11;

  bayes::LaplaceFitOptions options;
  options.layers = bayes::select_layers("all", config);
  options.rank = static_cast<std::int64_t>(std::max(H, I));
  options.fisher = GetParam().fisher;
  options.prior_precision = {bayes::PrecisionChoice::kFixed, 2.0};
  options.seed = seed;
  options.fold_every = 2;  // folds after examples 2, 4 and 5
  options.kfac_budget.row_bytes = GetParam().row_bytes;
  options.output = std::filesystem::path(::testing::TempDir()) /
                   ("kfac_dense_" + std::string(GetParam().model) + "_" +
                    std::string(bayes::fisher_type_name(options.fisher)) + "_" +
                    std::to_string(GetParam().row_bytes) + ".st");
  const bayes::LaplaceFitResult fit = bayes::fit_laplace(context(), weights, examples, options);
  ASSERT_TRUE(fit.complete);
  const bayes::Posterior file =
      bayes::read_posterior_file(options.output, bayes::model_fingerprint(config));

  // The dense reference, from separate backward passes.
  std::vector<std::vector<DenseExpert>> dense(options.layers.size(), std::vector<DenseExpert>(E));
  for (auto& layer : dense) {
    for (DenseExpert& d : layer) {
      d.g.assign(H * H, 0.0);
      d.a.assign(I * I, 0.0);
    }
  }
  double log_likelihood = 0;
  for (std::size_t n = 0; n < examples.size(); ++n) {
    const bayes::FitExample& ex = examples[n];
    const model::SavedForward saved(context(), weights, ex.prompt);
    std::vector<float> label_logits;
    for (uint32_t t : ex.answers) label_logits.push_back(saved.last_logits()[t]);
    const std::vector<double> p = bayes::label_probabilities(label_logits);
    log_likelihood += std::log(p[static_cast<std::size_t>(ex.label)]);
    std::vector<std::pair<std::int64_t, double>> passes;  // (label, weight of g gᵀ)
    if (options.fisher == bayes::FisherType::kExact) {
      for (std::size_t c = 0; c < p.size(); ++c) passes.emplace_back(c, p[c]);
    } else if (options.fisher == bayes::FisherType::kEmpirical) {
      passes.emplace_back(ex.label, 1.0);
    } else {
      passes.emplace_back(bayes::sample_label(p, bayes::counter_uniform(seed, n)), 1.0);
    }
    for (std::size_t pass = 0; pass < passes.size(); ++pass) {
      std::vector<float> targets(ex.answers.size(), 0.0f);
      targets[static_cast<std::size_t>(passes[pass].first)] = 1.0f;
      const model::ActivationGradients grads =
          model::backward(context(), weights, saved, {ex.answers, targets});
      std::size_t t = 0;
      for (const model::MoeLayerActivations& m : grads.moe_layers()) {
        ASSERT_EQ(m.layer, options.layers[t]);
        std::vector<float> g(m.entries * H), a(m.entries * I);
        std::vector<uint32_t> choices(m.entries);
        stream().download(m.g, g.data(), g.size() * 4);
        stream().download(m.a, a.data(), a.size() * 4);
        stream().download(m.choices, choices.data(), choices.size() * 4);
        stream().finish();
        for (std::size_t r = 0; r < m.entries; ++r) {
          DenseExpert& d = dense[t][choices[r]];
          add_outer(d.g, &g[r * H], H, passes[pass].second);
          if (pass == 0) {
            add_outer(d.a, &a[r * I], I, 1.0);
            ++d.tokens;
          }
        }
        ++t;
      }
    }
  }
  EXPECT_NEAR(fit.log_likelihood, log_likelihood, 1e-4 * std::abs(log_likelihood));

  ASSERT_EQ(file.layers.size(), dense.size());
  int reached = 0;
  for (std::size_t t = 0; t < dense.size(); ++t) {
    for (std::size_t e = 0; e < E; ++e) {
      const bayes::KronExpertFactors& f = file.layers[t].experts[e];
      const DenseExpert& d = dense[t][e];
      SCOPED_TRACE("layer " + std::to_string(file.layers[t].layer) + " expert " +
                   std::to_string(e));
      EXPECT_EQ(f.tokens, static_cast<double>(d.tokens));
      if (d.tokens == 0) {
        EXPECT_EQ(f.g.count(), 0);
        continue;
      }
      ++reached;
      EXPECT_LE(relative_error(reconstruct(f.g), d.g), 1e-4);
      EXPECT_LE(relative_error(reconstruct(f.a), d.a), 1e-4);
    }
  }
  EXPECT_GT(reached, 2);
  std::filesystem::remove(options.output);
}

// The row budget decides when the gathered rows are merged: one example's rows over budget
// merges before each next example, a roomy budget only at fold().
class KfacMergeTest : public GpuTest {};

TEST_F(KfacMergeTest, RowBudgetSplitsFoldIntervals) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const std::vector<bayes::FitExample> examples = tiny_examples(3);
  for (const std::uint64_t row_bytes : {std::uint64_t{1}, bayes::KfacBudget{}.row_bytes}) {
    bayes::KfacAccumulator kfac(context(), weights, bayes::select_layers("all", weights.config), 4,
                                {.row_bytes = row_bytes});
    for (std::size_t n = 0; n < examples.size(); ++n) {
      const model::SavedForward saved(context(), weights, examples[n].prompt);
      kfac.add_example(saved, {examples[n].answers, examples[n].label, n},
                       bayes::FisherType::kEmpirical, 0);
    }
    EXPECT_TRUE(kfac.pending());
    EXPECT_EQ(kfac.merges(), row_bytes == 1 ? 2 : 0) << "row budget " << row_bytes;
    kfac.fold();
    EXPECT_FALSE(kfac.pending());
    EXPECT_EQ(kfac.merges(), row_bytes == 1 ? 3 : 1);
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, KfacDenseTest,
                         ::testing::Values(Case{"qwen2_moe-f32", bayes::FisherType::kExact},
                                           Case{"qwen2_moe-f32", bayes::FisherType::kMc},
                                           Case{"qwen2_moe-f32", bayes::FisherType::kEmpirical},
                                           Case{"deepseek-f32", bayes::FisherType::kExact},
                                           Case{"qwen2_moe-f32", bayes::FisherType::kExact, 1}),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           std::string s =
                               std::string(param.param.model) + "_" +
                               std::string(bayes::fisher_type_name(param.param.fisher)) +
                               (param.param.row_bytes == 1 ? "_row_merges" : "");
                           for (char& ch : s) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return s;
                         });

}  // namespace
}  // namespace vkmoe::test
