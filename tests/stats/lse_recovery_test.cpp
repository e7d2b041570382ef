// Least squares on noiseless data recovers the true measure; the experiment driver batches
// sizes, replications and starts and keeps the best start.
#include <cmath>

#include "engine/stats/lse_cpu.h"
#include "engine/stats/lse_experiment.h"
#include "engine/stats/lse_gpu.h"
#include "engine/stats/lse_starts.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

stats::RegressionSpec noiseless_sigmoid_pair() {
  stats::RegressionSpec spec;
  spec.truth.family = stats::ExpertFamily::sigmoid;
  spec.truth.dimension = 1;
  spec.truth.atoms = {{{2.0}, 0.0, {3.0}, -1.0}, {{-2.0}, 0.5, {-2.0}, 1.0}};
  spec.box_low = -2.0;
  spec.box_high = 2.0;
  spec.noise_sigma = 0.0;
  return spec;
}

using LseRecoveryTest = GpuTest;

TEST_F(LseRecoveryTest, ExactFitRecoversTheTruthFromNoiselessData) {
  stats::LseExperimentConfig config;
  config.spec = noiseless_sigmoid_pair();
  config.sample_sizes = {1024};
  config.replications = 1;
  config.random_starts = 0;
  config.near_truth_jitter = 0.3;
  config.optimiser.adam.iterations = 1500;
  config.optimiser.adam.learning_rate = 0.03f;
  config.optimiser.adam.final_learning_rate = 1e-4f;
  config.optimiser.refine.iterations = 40;
  const std::vector<stats::LseFitRecord> records = stats::run_lse_experiment(context(), config);
  ASSERT_EQ(records.size(), 1u);
  const stats::LseFitRecord& fit = records[0];
  // Adam alone stalls in the valley (Voronoi loss ~0.2 here); Levenberg-Marquardt reaches the
  // float floor.
  EXPECT_LT(fit.objective, 1e-10);
  EXPECT_LT(fit.loss.total(), 1e-4);
  EXPECT_LT(fit.function_error, 1e-5);
  EXPECT_EQ(fit.loss.cell_of_atom, (std::vector<uint32_t>{0, 1}));
}

TEST_F(LseRecoveryTest, OverFittedModelStillFitsTheFunction) {
  stats::LseExperimentConfig config;
  config.spec = noiseless_sigmoid_pair();
  config.experts = 3;
  config.sample_sizes = {1024};
  config.random_starts = 0;
  config.near_truth_jitter = 0.2;
  config.optimiser.adam.iterations = 1500;
  config.optimiser.adam.learning_rate = 0.03f;
  config.optimiser.refine.iterations = 40;
  const std::vector<stats::LseFitRecord> records = stats::run_lse_experiment(context(), config);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_LT(records[0].function_error, 5e-3);
  EXPECT_LT(records[0].loss.mass, 0.05);
  // Two fitted atoms share the first true atom's cell.
  EXPECT_EQ(records[0].loss.cell_of_atom, (std::vector<uint32_t>{0, 0, 1}));
}

TEST_F(LseRecoveryTest, ExperimentKeepsTheBestStartOfEveryProblem) {
  stats::LseExperimentConfig config;
  config.spec = noiseless_sigmoid_pair();
  config.spec.noise_sigma = 0.1;
  config.sample_sizes = {100, 300};
  config.replications = 2;
  config.random_starts = 2;
  config.optimiser.adam.iterations = 40;
  std::vector<stats::Dataset> datasets;
  const stats::LseBatch batch = stats::build_experiment_batch(config, datasets);
  ASSERT_EQ(batch.problems(), 2u * 2u * 3u);
  ASSERT_EQ(datasets.size(), 4u);
  EXPECT_EQ(datasets[2].samples, 300u);
  stats::LseBatchResult result = stats::fit_batch_gpu(context(), batch, config.optimiser);
  // Make the second random start of the last problem the best, whatever the fit did.
  result.objective[11] = 0.0;
  const std::vector<stats::LseFitRecord> records = stats::summarise_experiment(config, result);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[3].samples, 300u);
  EXPECT_EQ(records[3].replication, 1u);
  EXPECT_EQ(records[3].best_start, 2u);
  for (const stats::LseFitRecord& r : records) EXPECT_TRUE(std::isfinite(r.loss.total()));
}

// The GPU refinement and the CPU reference reach the same minimum from the same rough start.
TEST_F(LseRecoveryTest, GpuRefinementMatchesCpuReference) {
  stats::LseExperimentConfig config;
  config.spec = noiseless_sigmoid_pair();
  config.spec.noise_sigma = 0.05;
  config.sample_sizes = {400};
  config.replications = 2;
  config.random_starts = 0;
  config.near_truth_jitter = 0.2;
  config.optimiser.adam.iterations = 0;
  config.optimiser.refine.iterations = 30;
  std::vector<stats::Dataset> datasets;
  const stats::LseBatch batch = stats::build_experiment_batch(config, datasets);
  const stats::LseBatchResult gpu = stats::fit_batch_gpu(context(), batch, config.optimiser);
  const stats::LseBatchResult cpu = stats::fit_batch_cpu(batch, config.optimiser);
  for (uint32_t problem = 0; problem < batch.problems(); ++problem) {
    EXPECT_NEAR(gpu.objective[problem], cpu.objective[problem], 1e-5 * cpu.objective[problem]);
    const uint32_t count = batch.parameters();
    for (uint32_t q = 0; q < count; ++q) {
      EXPECT_LT(std::abs(gpu.gradient[problem * count + q]), 1e-5);
    }
    // Compared modulo the softmax translation, which the loss does not see.
    const auto centred = [&](const std::vector<float>& all) {
      return stats::pack_parameters(stats::centre_gates(
          stats::unpack_parameters({all.data() + problem * count, count}, 2, config.spec.truth)));
    };
    const std::vector<float> a = centred(gpu.parameters), b = centred(cpu.parameters);
    for (uint32_t q = 0; q < count; ++q) EXPECT_NEAR(a[q], b[q], 2e-3) << "parameter " << q;
  }
}

TEST(LseStarts, NearTruthSplitsAtomsAndKeepsTheirMass) {
  const stats::RegressionSpec spec = noiseless_sigmoid_pair();
  const std::vector<float> start = stats::near_truth_start(spec.truth, 3, 0.0, 1);
  const stats::MoeModel model = stats::unpack_parameters(start, 3, spec.truth);
  ASSERT_EQ(model.experts(), 3u);
  EXPECT_NEAR(model.atoms[0].gate_bias, std::log(0.5), 1e-6);
  EXPECT_NEAR(model.atoms[1].gate_bias, std::log(0.5), 1e-6);
  EXPECT_NEAR(model.atoms[2].gate_bias, 0.5, 1e-6);
  EXPECT_NEAR(stats::voronoi_loss(model, spec.truth).total(), 0.0, 1e-6);
}

}  // namespace
}  // namespace vkmoe::test
