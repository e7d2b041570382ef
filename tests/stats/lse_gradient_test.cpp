// The GPU objective and gradient (shaders/stats_lse.comp) against the CPU reference, the CPU
// gradient against finite differences, and GPU Adam steps against the CPU optimiser.
#include <cmath>
#include <cstdlib>

#include "engine/stats/counter_rng.h"
#include "engine/stats/lse_cpu.h"
#include "engine/stats/lse_gpu.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

using stats::Dataset;
using stats::ExpertFamily;
using stats::LseBatch;

// Three experts in two dimensions; data sets of sizes that are not multiples of the group size.
struct Problems {
  std::vector<Dataset> datasets;
  LseBatch batch;
};

Problems make_problems(ExpertFamily family, uint32_t degree, std::vector<uint32_t> sizes,
                       uint32_t problems) {
  Problems p;
  stats::RegressionSpec spec;
  spec.truth.family = family;
  spec.truth.degree = degree;
  spec.truth.dimension = 2;
  spec.truth.atoms = {{{1.0, 0.5}, 0.2, {1.5, -1.0}, 0.3},
                      {{-0.5, 1.0}, -0.1, {-1.0, 0.5}, -0.2},
                      {{0.0, -1.0}, 0.0, {0.5, 0.5}, 0.1}};
  spec.noise_sigma = 0.1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    p.datasets.push_back(stats::simulate(spec, sizes[i], static_cast<uint32_t>(i), 17));
  }
  p.batch.family = family;
  p.batch.degree = degree;
  p.batch.dimension = 2;
  p.batch.experts = 3;
  for (const Dataset& d : p.datasets) p.batch.datasets.push_back(&d);
  const stats::CounterRng rng(5, 1);
  for (uint32_t i = 0; i < problems; ++i) {
    p.batch.dataset_of_problem.push_back(i % static_cast<uint32_t>(sizes.size()));
    for (uint32_t q = 0; q < p.batch.parameters(); ++q) {
      p.batch.start.push_back(static_cast<float>(0.8 * rng.normal(i * 100 + q)));
    }
  }
  return p;
}

std::vector<double> cpu_gradient(const LseBatch& batch, uint32_t problem, double* objective) {
  const uint32_t count = batch.parameters();
  std::vector<double> gradient(count);
  const std::span<const float> theta(batch.start.data() + size_t{problem} * count, count);
  *objective = stats::lse_objective(batch, theta,
                                    *batch.datasets[batch.dataset_of_problem[problem]], gradient);
  return gradient;
}

void expect_gpu_matches_cpu(vk::Context& context, const LseBatch& batch) {
  const stats::LseBatchResult gpu = stats::evaluate_batch_gpu(context, batch);
  const uint32_t count = batch.parameters();
  for (uint32_t problem = 0; problem < batch.problems(); ++problem) {
    double objective = 0;
    const std::vector<double> reference = cpu_gradient(batch, problem, &objective);
    EXPECT_NEAR(gpu.objective[problem], objective, 1e-5 * objective) << "problem " << problem;
    double error = 0, norm = 0;
    for (uint32_t q = 0; q < count; ++q) {
      const double d = gpu.gradient[size_t{problem} * count + q] - reference[q];
      error += d * d;
      norm += reference[q] * reference[q];
    }
    EXPECT_LE(error / norm, 1e-9) << "gradient of problem " << problem;
    // Evaluation leaves the parameters where they were.
    for (uint32_t q = 0; q < count; ++q) {
      ASSERT_EQ(gpu.parameters[size_t{problem} * count + q],
                batch.start[size_t{problem} * count + q]);
    }
  }
}

struct FamilyCase {
  ExpertFamily family;
  uint32_t degree;
};

class LseGradientTest : public GpuTest, public ::testing::WithParamInterface<FamilyCase> {};

TEST_P(LseGradientTest, GpuMatchesCpuReference) {
  const Problems p = make_problems(GetParam().family, GetParam().degree, {777, 65, 1}, 5);
  expect_gpu_matches_cpu(context(), p.batch);
}

TEST_P(LseGradientTest, CpuGradientMatchesFiniteDifferences) {
  Problems p = make_problems(GetParam().family, GetParam().degree, {300}, 1);
  double objective = 0;
  const std::vector<double> analytic = cpu_gradient(p.batch, 0, &objective);
  std::vector<double> scratch(p.batch.parameters());
  for (uint32_t q = 0; q < p.batch.parameters(); ++q) {
    const float centre = p.batch.start[q];
    p.batch.start[q] = centre + 1e-3f;
    const float up = p.batch.start[q];
    const double f_up = stats::lse_objective(p.batch, p.batch.start, p.datasets[0], scratch);
    p.batch.start[q] = centre - 1e-3f;
    const float down = p.batch.start[q];
    const double f_down = stats::lse_objective(p.batch, p.batch.start, p.datasets[0], scratch);
    p.batch.start[q] = centre;
    // Divided by the step the float parameters actually took.
    const double numeric = (f_up - f_down) / (static_cast<double>(up) - down);
    EXPECT_NEAR(analytic[q], numeric, 1e-5 + 1e-4 * std::abs(numeric)) << "parameter " << q;
  }
}

TEST_P(LseGradientTest, GpuAdamStepsFollowTheCpuOptimiser) {
  const Problems p = make_problems(GetParam().family, GetParam().degree, {200, 131}, 3);
  stats::AdamSchedule schedule;
  schedule.iterations = 30;
  schedule.learning_rate = 0.01f;
  schedule.final_learning_rate = 0.001f;
  stats::GpuFitOptions options;
  options.iterations_per_dispatch = 7;  // several dispatches, the last one short
  const stats::LseBatchResult gpu =
      stats::fit_batch_gpu(context(), p.batch, {schedule, {}}, options);
  const stats::LseBatchResult cpu = stats::fit_batch_cpu(p.batch, {schedule, {}});
  for (size_t i = 0; i < cpu.parameters.size(); ++i) {
    EXPECT_NEAR(gpu.parameters[i], cpu.parameters[i], 1e-3) << "parameter " << i;
  }
  for (uint32_t problem = 0; problem < p.batch.problems(); ++problem) {
    EXPECT_NEAR(gpu.objective[problem], cpu.objective[problem], 1e-4 * cpu.objective[problem]);
    // Adam made progress.
    double start_objective = 0;
    cpu_gradient(p.batch, problem, &start_objective);
    EXPECT_LT(cpu.objective[problem], start_objective);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, LseGradientTest,
                         ::testing::Values(FamilyCase{ExpertFamily::linear, 1},
                                           FamilyCase{ExpertFamily::polynomial, 3},
                                           FamilyCase{ExpertFamily::sigmoid, 1},
                                           FamilyCase{ExpertFamily::tanh, 1}),
                         [](const ::testing::TestParamInfo<FamilyCase>& test) {
                           return std::string(stats::family_name(test.param.family));
                         });

// Data sets split across bindings when the binding limit is small: each group of problems
// reads its own range, so results still match the CPU.
class LseSmallRangeTest : public GpuTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "16384", 1);
    GpuTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(LseSmallRangeTest, ProblemsInSeveralDataGroups) {
  // 1000 rows of 3 floats: one data set per 16 KiB binding, so 3 groups, problems interleaved.
  const Problems p = make_problems(ExpertFamily::sigmoid, 1, {1000, 999, 3}, 7);
  expect_gpu_matches_cpu(context(), p.batch);
}

}  // namespace
}  // namespace vkmoe::test

namespace vkmoe::test {
namespace {

// Regression: after a long dispatch (50 steps over 1e5 rows) the report read back as zeros on
// lavapipe: the dispatch passed lavapipe's loop limit, so its loops ended early and the report
// pass never ran. The launcher now cuts such fits into shorter dispatches (lse_plan.h).
using LseLongDispatchTest = GpuTest;
TEST_F(LseLongDispatchTest, ReportMatchesTheFinalParameters) {
  const Problems p = make_problems(ExpertFamily::sigmoid, 1, {100000}, 1);
  stats::LseOptimiser optimiser;
  optimiser.adam.iterations = 50;
  optimiser.adam.learning_rate = 0.001f;
  const stats::LseBatchResult gpu = stats::fit_batch_gpu(context(), p.batch, optimiser);
  std::vector<double> gradient(p.batch.parameters());
  const double objective = stats::lse_objective(p.batch, gpu.parameters, p.datasets[0], gradient);
  EXPECT_NEAR(gpu.objective[0], objective, 1e-5 * objective);
  for (size_t q = 0; q < gradient.size(); ++q) {
    EXPECT_NEAR(gpu.gradient[q], gradient[q], 1e-4 * std::abs(gradient[q]) + 1e-6);
  }
}

}  // namespace
}  // namespace vkmoe::test
