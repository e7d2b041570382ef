// Checkpoints and --resume (issue 6 point 7): a fit stopped at a checkpoint and resumed writes
// the same posterior file, byte for byte, as one that ran straight through — for every Fisher
// type, across several stops, and with the evidence's λ (the log-likelihood is carried too). A
// checkpoint of another fit is refused, and a finished fit removes its checkpoint.
#include <filesystem>
#include <string>
#include <vector>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/layer_selection.h"
#include "loaders/model_files.h"
#include "tests/bayes_fit/fit_support.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

class FitResumeTest : public GpuTest, public ::testing::WithParamInterface<bayes::FisherType> {
 protected:
  bayes::LaplaceFitOptions options(const model::ModelWeights& weights, const std::string& name) {
    bayes::LaplaceFitOptions o;
    o.layers = bayes::select_layers("all", weights.config);
    o.rank = 6;  // below H and I: the merges truncate, so the fold order matters
    o.fisher = GetParam();
    o.seed = 5;
    o.fold_every = 2;
    o.output = std::filesystem::path(::testing::TempDir()) /
               (name + "_" + std::string(bayes::fisher_type_name(o.fisher)) + ".safetensors");
    std::filesystem::remove(bayes::checkpoint_path(o.output));
    return o;
  }
  // Stops after 2 and 4 of 7 examples, resumes each time, and compares the posterior file with
  // a straight fit's.
  void resumed_equals_straight(std::uint64_t row_bytes);
};

void FitResumeTest::resumed_equals_straight(std::uint64_t row_bytes) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const std::vector<bayes::FitExample> examples = tiny_examples(7);

  bayes::LaplaceFitOptions straight = options(weights, "straight");
  straight.kfac_budget.row_bytes = row_bytes;
  ASSERT_TRUE(bayes::fit_laplace(context(), weights, examples, straight).complete);

  bayes::LaplaceFitOptions stopped = options(weights, "stopped");
  stopped.kfac_budget.row_bytes = row_bytes;
  stopped.checkpoint_every = 2;
  stopped.stop_after = 2;
  const bayes::LaplaceFitResult first = bayes::fit_laplace(context(), weights, examples, stopped);
  EXPECT_FALSE(first.complete);
  EXPECT_FALSE(std::filesystem::exists(stopped.output));
  ASSERT_TRUE(std::filesystem::exists(bayes::checkpoint_path(stopped.output)));

  stopped.resume = true;
  stopped.stop_after = 4;  // a second stop, from the resumed state
  const bayes::LaplaceFitResult second = bayes::fit_laplace(context(), weights, examples, stopped);
  EXPECT_FALSE(second.complete);
  EXPECT_EQ(second.resumed_at, 2);

  stopped.stop_after = 0;
  const bayes::LaplaceFitResult last = bayes::fit_laplace(context(), weights, examples, stopped);
  ASSERT_TRUE(last.complete);
  EXPECT_EQ(last.resumed_at, 4);
  EXPECT_FALSE(std::filesystem::exists(bayes::checkpoint_path(stopped.output)));

  const std::string a = file_bytes(straight.output), b = file_bytes(stopped.output);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the resumed posterior differs from the straight one";
  std::filesystem::remove(straight.output);
  std::filesystem::remove(stopped.output);
}

TEST_P(FitResumeTest, ResumedFitEqualsStraightFit) {
  resumed_equals_straight(bayes::KfacBudget{}.row_bytes);
}

// A row budget below one example's rows: every example is merged on its own, inside the fold
// intervals as well as at them, and the resumed fit still merges at the same points.
TEST_P(FitResumeTest, ResumedFitEqualsStraightFitWithRowMerges) {
  resumed_equals_straight(1);
}

TEST_P(FitResumeTest, CheckpointOfAnotherFitIsRefused) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const std::vector<bayes::FitExample> examples = tiny_examples(4);
  bayes::LaplaceFitOptions o = options(weights, "refused");
  o.checkpoint_every = 2;
  o.stop_after = 2;
  ASSERT_FALSE(bayes::fit_laplace(context(), weights, examples, o).complete);

  o.resume = true;
  o.stop_after = 0;
  o.rank = 5;
  EXPECT_THROW(bayes::fit_laplace(context(), weights, examples, o), bayes::BayesError);
  o.rank = 6;
  const std::vector<bayes::FitExample> other = tiny_examples(5);
  EXPECT_THROW(bayes::fit_laplace(context(), weights, other, o), bayes::BayesError);
  std::filesystem::remove(bayes::checkpoint_path(o.output));
}

INSTANTIATE_TEST_SUITE_P(Fisher, FitResumeTest,
                         ::testing::Values(bayes::FisherType::kExact, bayes::FisherType::kMc,
                                           bayes::FisherType::kEmpirical),
                         [](const ::testing::TestParamInfo<bayes::FisherType>& param) {
                           return std::string(bayes::fisher_type_name(param.param));
                         });

}  // namespace
}  // namespace vkmoe::test
