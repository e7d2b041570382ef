// Fits whose dispatches would pass a driver's loop limit (lavapipe ends every loop of an
// invocation after 65,535 back-edges in total, silently) still run every step: GPU Adam and
// Levenberg-Marquardt on large data sets against the CPU optimiser, step for step, with the
// dispatches lse_plan.h plans; and the plan itself for every supported shape.
#include <algorithm>
#include <cmath>

#include "engine/stats/lse_cpu.h"
#include "engine/stats/lse_gpu.h"
#include "engine/stats/lse_starts.h"
#include "engine/stats/voronoi_loss.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Problems {
  stats::RegressionSpec spec;
  std::vector<stats::Dataset> datasets;
  stats::LseBatch batch;
};

// Sigmoid experts in one dimension, k experts fitted to data from a two-atom truth, one problem
// per data set, each started near the truth.
Problems make_problems(const std::vector<uint32_t>& sizes, uint32_t experts) {
  Problems p;
  stats::RegressionSpec& spec = p.spec;
  spec.truth.family = stats::ExpertFamily::sigmoid;
  spec.truth.dimension = 1;
  spec.truth.atoms = {{{2.0}, 0.0, {3.0}, -1.0}, {{-2.0}, 0.5, {-2.0}, 1.0}};
  spec.box_low = -2.0;
  spec.box_high = 2.0;
  spec.noise_sigma = 0.05;
  for (size_t i = 0; i < sizes.size(); ++i) {
    p.datasets.push_back(stats::simulate(spec, sizes[i], static_cast<uint32_t>(i), 23));
  }
  p.batch.family = spec.truth.family;
  p.batch.dimension = 1;
  p.batch.experts = experts;
  for (uint32_t i = 0; i < sizes.size(); ++i) {
    p.batch.datasets.push_back(&p.datasets[i]);
    p.batch.dataset_of_problem.push_back(i);
    const std::vector<float> start = stats::near_truth_start(spec.truth, experts, 0.3, 7 + i);
    p.batch.start.insert(p.batch.start.end(), start.begin(), start.end());
  }
  return p;
}

// Parameters compared modulo the softmax translation (which the loss does not see, and which
// Levenberg-Marquardt steps only through its tiny absolute damping term).
void expect_same_fit(const Problems& p, const stats::LseBatchResult& gpu,
                     const stats::LseBatchResult& cpu, double tolerance) {
  ASSERT_EQ(gpu.parameters.size(), cpu.parameters.size());
  const uint32_t count = p.batch.parameters();
  for (uint32_t problem = 0; problem < p.batch.problems(); ++problem) {
    const auto centred = [&](const std::vector<float>& all) {
      return stats::pack_parameters(stats::centre_gates(stats::unpack_parameters(
          {all.data() + size_t{problem} * count, count}, p.batch.experts, p.spec.truth)));
    };
    const std::vector<float> a = centred(gpu.parameters), b = centred(cpu.parameters);
    for (uint32_t q = 0; q < count; ++q) {
      EXPECT_NEAR(a[q], b[q], tolerance) << "problem " << problem << " parameter " << q;
    }
  }
  for (size_t problem = 0; problem < cpu.objective.size(); ++problem) {
    EXPECT_NEAR(gpu.objective[problem], cpu.objective[problem], 1e-4 * cpu.objective[problem])
        << "problem " << problem;
  }
}

using LseLoopLimitTest = GpuTest;

// 250 steps over 20,000 rows asked of one dispatch: ~78,000 row-loop trips per invocation.
TEST_F(LseLoopLimitTest, AdamStepsOfALongDispatchAllRun) {
  const Problems p = make_problems({20000}, 3);
  stats::LseOptimiser optimiser;
  optimiser.adam.iterations = 250;
  optimiser.adam.learning_rate = 0.01f;
  optimiser.adam.final_learning_rate = 0.001f;
  stats::GpuFitOptions options;
  options.iterations_per_dispatch = 250;
  const stats::LseBatchResult gpu = stats::fit_batch_gpu(context(), p.batch, optimiser, options);
  const stats::LseBatchResult cpu = stats::fit_batch_cpu(p.batch, optimiser);
  expect_same_fit(p, gpu, cpu, 1e-3);
}

// 10^5 rows: on lavapipe even one step's pass over the rows is split across dispatches. A
// small data set shares the batch (its rows end in the first part).
TEST_F(LseLoopLimitTest, AdamStepsOverManyRowsAllRun) {
  const Problems p = make_problems({100000, 777}, 3);
  stats::LseOptimiser optimiser;
  optimiser.adam.iterations = 60;
  optimiser.adam.learning_rate = 0.01f;
  optimiser.adam.final_learning_rate = 0.001f;
  const stats::LseBatchResult gpu = stats::fit_batch_gpu(context(), p.batch, optimiser);
  const stats::LseBatchResult cpu = stats::fit_batch_cpu(p.batch, optimiser);
  expect_same_fit(p, gpu, cpu, 1e-3);
  const stats::GpuFitPlan plan =
      stats::plan_gpu_fit(context().info().max_loop_iterations, p.batch, 100000, optimiser, {});
  EXPECT_EQ(gpu.dispatches, plan.adam.dispatches);
}

// Levenberg-Marquardt over 10^5 rows: every step builds the normal matrix over all of them.
TEST_F(LseLoopLimitTest, LevenbergMarquardtStepsOverManyRowsAllRun) {
  const Problems p = make_problems({100000, 777}, 2);
  stats::LseOptimiser optimiser;
  optimiser.adam.iterations = 0;
  optimiser.refine.iterations = 6;
  const stats::LseBatchResult gpu = stats::fit_batch_gpu(context(), p.batch, optimiser);
  const stats::LseBatchResult cpu = stats::fit_batch_cpu(p.batch, optimiser);
  expect_same_fit(p, gpu, cpu, 1e-3);
  const stats::GpuFitPlan plan =
      stats::plan_gpu_fit(context().info().max_loop_iterations, p.batch, 100000, optimiser, {});
  EXPECT_EQ(gpu.dispatches, plan.adam.dispatches + plan.refine.dispatches);
  for (size_t q = 0; q < cpu.gradient.size(); ++q) {
    EXPECT_NEAR(gpu.gradient[q], cpu.gradient[q], 1e-4 + 1e-3 * std::abs(cpu.gradient[q]))
        << "gradient " << q;
  }
}

TEST(LsePlan, WithoutALimitEveryDispatchRunsTheStepsAsked) {
  stats::LseBatch batch;
  batch.experts = 3;
  stats::LseOptimiser optimiser;
  optimiser.adam.iterations = 1000;
  optimiser.refine.iterations = 60;
  const stats::GpuFitPlan plan = stats::plan_gpu_fit(0, batch, 1000000, optimiser, {});
  EXPECT_FALSE(plan.adam.split);
  EXPECT_EQ(plan.adam.steps_per_dispatch, 50u);
  EXPECT_EQ(plan.adam.dispatches, 20u);  // the last one also writes the report
  EXPECT_FALSE(plan.refine.split);
  EXPECT_EQ(plan.refine.steps_per_dispatch, 5u);
  EXPECT_EQ(plan.refine.dispatches, 12u);
}

// Every supported shape gets a plan whose counted loop trips stay inside lavapipe's limit, and
// split passes cover every row.
TEST(LsePlan, EveryShapeFitsTheLoopLimit) {
  constexpr uint32_t kLimit = 65535;
  stats::LseOptimiser optimiser;
  optimiser.adam.iterations = 100;
  optimiser.refine.iterations = 10;
  for (const stats::ExpertFamily family :
       {stats::ExpertFamily::sigmoid, stats::ExpertFamily::polynomial}) {
    for (uint32_t experts = 1; experts <= stats::kMaxExperts; ++experts) {
      for (uint32_t dimension = 1; dimension <= stats::kMaxDimension; ++dimension) {
        for (const uint32_t rows : {1u, 1000u, 30000u, 1000000u}) {
          stats::LseBatch batch;
          batch.family = family;
          batch.degree = family == stats::ExpertFamily::polynomial ? 3 : 1;
          batch.experts = experts;
          batch.dimension = dimension;
          const stats::GpuFitPlan plan = stats::plan_gpu_fit(kLimit, batch, rows, optimiser, {});
          const std::string shape = std::to_string(experts) + " experts, d " +
                                    std::to_string(dimension) + ", " + std::to_string(rows) +
                                    " rows";
          for (const stats::KernelPlan* kernel : {&plan.adam, &plan.refine}) {
            EXPECT_LE(kernel->loop_trips, kLimit) << shape;
            EXPECT_GE(uint64_t{kernel->parts} * kernel->rows_per_part, rows) << shape;
            EXPECT_GE(kernel->steps_per_dispatch, 1u) << shape;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace vkmoe::test
