#include "engine/stats/lse_gpu.h"

#include <algorithm>
#include <numeric>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"

namespace vkmoe::stats {

namespace {

enum class RefinePhase : uint32_t { fused = 0, accumulate = 1, step = 2 };

struct RefinePush {
  uint32_t problem_first;
  uint32_t data_first;
  uint32_t iterations;
  float bound;
  uint32_t row_begin;
  uint32_t row_end;
  RefinePhase phase;
  uint32_t state_stride;
};

// stats_lse.comp's flags.
constexpr uint32_t kReport = 1, kCarryIn = 2, kCarryOut = 4;

struct Push {
  uint32_t problem_first;
  uint32_t data_first;
  uint32_t iterations;
  uint32_t step_first;
  float learning_rate;
  float log_decay;
  float beta1;
  float beta2;
  float epsilon;
  float bound;
  uint32_t row_begin;
  uint32_t row_end;
  uint32_t flags;
};

// The data sets packed back to back into one buffer, in groups that each fit one binding
// (maxStorageBufferRange): problems are launched group by group.
struct PackedData {
  std::vector<float> values;
  std::vector<uint64_t> group_first_float;
  std::vector<uint64_t> group_floats;
  std::vector<uint32_t> group_of_dataset;
  std::vector<uint32_t> first_row_of_dataset;  // relative to its group
};

PackedData pack_datasets(const vk::Context& context, const LseBatch& batch) {
  const uint64_t alignment =
      std::max<uint64_t>(1, context.info().min_storage_buffer_offset_alignment);
  const uint64_t group_limit = (context.max_binding_range() - alignment) / sizeof(float);
  PackedData packed;
  uint64_t group_floats = 0, group_rows = 0;
  for (const Dataset* data : batch.datasets) {
    const uint64_t floats = data->rows.size();
    if (floats > group_limit) {
      throw Error("lse: a data set of " + std::to_string(data->samples) +
                  " samples does not fit one binding (maxStorageBufferRange " +
                  std::to_string(context.max_binding_range()) + " bytes)");
    }
    if (packed.group_first_float.empty() || group_floats + floats > group_limit) {
      packed.group_first_float.push_back(packed.values.size());
      packed.group_floats.push_back(0);
      group_floats = 0;
      group_rows = 0;
    }
    packed.group_of_dataset.push_back(static_cast<uint32_t>(packed.group_first_float.size() - 1));
    packed.first_row_of_dataset.push_back(static_cast<uint32_t>(group_rows));
    packed.values.insert(packed.values.end(), data->rows.begin(), data->rows.end());
    group_floats += floats;
    group_rows += data->samples;
    packed.group_floats.back() = group_floats;
  }
  return packed;
}

LseBatchResult run_batch(vk::Context& context, const LseBatch& batch, const LseOptimiser& optimiser,
                         const GpuFitOptions& options, bool evaluate_only) {
  const AdamSchedule& schedule = optimiser.adam;
  validate_batch(batch);
  if (options.iterations_per_dispatch == 0 || options.refine_iterations_per_dispatch == 0) {
    throw Error("lse: iterations per dispatch must be at least 1");
  }
  const uint32_t problems = batch.problems(), parameters = batch.parameters();
  LseBatchResult result;
  if (problems == 0) return result;

  const PackedData packed = pack_datasets(context, batch);
  // Problems in group order, so each group's problems are one contiguous range of workgroups.
  std::vector<uint32_t> order(problems);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return packed.group_of_dataset[batch.dataset_of_problem[a]] <
           packed.group_of_dataset[batch.dataset_of_problem[b]];
  });
  std::vector<uint32_t> table(2 * size_t{problems});
  std::vector<float> start(size_t{problems} * parameters);
  const size_t group_count = packed.group_first_float.size();
  std::vector<uint32_t> group_problem_first(group_count + 1, problems);
  for (uint32_t slot = problems; slot-- > 0;) {
    const uint32_t problem = order[slot];
    const uint32_t dataset = batch.dataset_of_problem[problem];
    table[2 * slot] = packed.first_row_of_dataset[dataset];
    table[2 * slot + 1] = batch.datasets[dataset]->samples;
    group_problem_first[packed.group_of_dataset[dataset]] = slot;
    std::copy_n(batch.start.begin() + size_t{problem} * parameters, parameters,
                start.begin() + size_t{slot} * parameters);
  }
  // A group with no problems starts where the next one does.
  for (size_t g = group_count; g-- > 0;) {
    group_problem_first[g] = std::min(group_problem_first[g], group_problem_first[g + 1]);
  }

  uint32_t max_rows = 0;
  for (const Dataset* d : batch.datasets) max_rows = std::max(max_rows, d->samples);
  LseOptimiser steps = optimiser;
  if (evaluate_only) steps.adam.iterations = steps.refine.iterations = 0;
  const GpuFitPlan plan =
      plan_gpu_fit(context.info().max_loop_iterations, batch, max_rows, steps, options);

  // Per problem: Adam's moments and carried sums; LM's damping, trial point and normal matrices
  // (the layouts the kernels document).
  const uint64_t report_stride = parameters + 1;
  const uint64_t adam_stride = 3 * uint64_t{parameters} + 1;
  const uint64_t entries = (parameters + 1) * (parameters + 2) / 2;
  // Split refinement keeps its normal matrices per problem; fused only the damping.
  const uint64_t lm_state = plan.refine.split ? 2 + parameters + 2 * entries : 1;
  vk::Buffer data = context.create_buffer(packed.values.size() * sizeof(float), "lse_data");
  vk::Buffer problem_table = context.create_buffer(table.size() * sizeof(uint32_t), "lse_problems");
  vk::Buffer theta = context.create_buffer(start.size() * sizeof(float), "lse_params");
  vk::Buffer adam_state =
      context.create_buffer(problems * adam_stride * sizeof(float), "lse_adam_state");
  vk::Buffer report = context.create_buffer(problems * report_stride * sizeof(float), "lse_report");
  const uint32_t refine = steps.refine.iterations;
  if (problems * lm_state * sizeof(float) > context.max_binding_range()) {
    throw Error("lse: the Levenberg-Marquardt state of " + std::to_string(problems) +
                " problems (" + std::to_string(problems * lm_state * sizeof(float)) +
                " bytes) does not fit one binding (maxStorageBufferRange " +
                std::to_string(context.max_binding_range()) + " bytes); fit fewer at a time");
  }
  vk::Buffer refine_state = context.create_buffer(
      (refine > 0 ? problems * lm_state : 1) * sizeof(float), "lse_refine_state");

  vk::Stream stream(context);
  stream.upload(data.span(), packed.values.data(), packed.values.size() * sizeof(float));
  stream.upload(problem_table.span(), table.data(), table.size() * sizeof(uint32_t));
  stream.upload(theta.span(), start.data(), start.size() * sizeof(float));
  stream.fill(adam_state.span(), 0u);

  const uint32_t max_groups = context.info().max_workgroup_count[0];
  // Records one dispatch of `pipeline` per data group (and per maxComputeWorkGroupCount
  // problems); `push_for(first_problem, data_first)` makes its push constants.
  const auto launch_groups = [&](const vk::Pipeline& pipeline, const vk::Buffer& state,
                                 double flops_per_row, const auto& push_for) {
    for (size_t g = 0; g < group_count; ++g) {
      const ops::AlignedBinding bound =
          ops::align_binding(context,
                             data.span(packed.group_first_float[g] * sizeof(float),
                                       packed.group_floats[g] * sizeof(float)),
                             sizeof(float));
      const vk::Binding bindings[] = {{bound.span, vk::Access::read},
                                      {problem_table.span(), vk::Access::read},
                                      {theta.span(), vk::Access::read_write},
                                      {state.span(), vk::Access::read_write},
                                      {report.span(), vk::Access::write}};
      for (uint32_t first = group_problem_first[g]; first < group_problem_first[g + 1];
           first += max_groups) {
        const uint32_t count = std::min(max_groups, group_problem_first[g + 1] - first);
        uint64_t rows = 0;
        for (uint32_t slot = first; slot < first + count; ++slot) rows += table[2 * slot + 1];
        const auto push = push_for(first, bound.first_element);
        stream.dispatch(pipeline, bindings, ops::push_bytes(push), {count, 1, 1}, pipeline.name,
                        {static_cast<double>(rows) * flops_per_row,
                         static_cast<double>(rows) * (batch.dimension + 1) * 4.0});
      }
    }
  };
  const uint32_t specialization[] = {kAdamGroupSize, static_cast<uint32_t>(batch.family),
                                     batch.degree, batch.experts, batch.dimension};

  // Adam. The last dispatch also writes the report (iterations = 0 only evaluates).
  const vk::Pipeline& adam =
      context.pipelines().get("stats_lse", specialization, {5, sizeof(Push)});
  const auto adam_dispatch = [&](uint32_t step_first, uint32_t count, uint32_t row_begin,
                                 uint32_t row_end, uint32_t flags) {
    // Per row and pass: gates, experts and gradient, about 12 flops per parameter.
    const double passes = (flags & kCarryOut) ? 1.0 : count + ((flags & kReport) ? 1.0 : 0.0);
    const double part = plan.adam.split ? double(plan.adam.rows_per_part) / max_rows : 1.0;
    launch_groups(adam, adam_state, 12.0 * parameters * passes * std::min(part, 1.0),
                  [&](uint32_t first, uint32_t data_first) {
                    return Push{first,
                                data_first,
                                count,
                                step_first,
                                schedule.learning_rate,
                                schedule.log_decay(),
                                schedule.beta1,
                                schedule.beta2,
                                schedule.epsilon,
                                optimiser.parameter_bound,
                                row_begin,
                                row_end,
                                flags};
                  });
  };
  const uint32_t total = steps.adam.iterations;
  if (!plan.adam.split) {
    for (uint32_t done = 0;;) {
      const uint32_t count = std::min(plan.adam.steps_per_dispatch, total - done);
      const bool last = done + count == total;
      adam_dispatch(done + 1, count, 0, UINT32_MAX, last ? kReport : 0);
      done += count;
      if (last) break;
    }
  } else {
    // Pass t (t < total: step t + 1; t = total: the report) in parts, carried in `adam_state`.
    for (uint32_t pass = 0; pass <= total; ++pass) {
      for (uint32_t part = 0; part < plan.adam.parts; ++part) {
        const bool last_part = part + 1 == plan.adam.parts;
        const uint32_t flags = (part > 0 ? kCarryIn : 0) | (!last_part ? kCarryOut : 0) |
                               (last_part && pass == total ? kReport : 0);
        const uint32_t row_begin = part * plan.adam.rows_per_part;
        adam_dispatch(pass + 1, last_part && pass < total ? 1 : 0, row_begin,
                      last_part ? UINT32_MAX : row_begin + plan.adam.rows_per_part, flags);
      }
    }
  }

  // Levenberg-Marquardt refinement.
  if (refine > 0) {
    // Damping, and (split plans) the normal matrix at theta is pending.
    std::vector<float> initial(problems * lm_state, 0.0f);
    for (uint32_t slot = 0; slot < problems; ++slot) {
      initial[slot * lm_state] = optimiser.refine.initial_damping;
      if (plan.refine.split) initial[slot * lm_state + 1] = 2.0f;  // stats_lm.comp's CURRENT
    }
    stream.upload(refine_state.span(), initial.data(), initial.size() * sizeof(float));
    const uint32_t lm_specialization[] = {kLmGroupSize, static_cast<uint32_t>(batch.family),
                                          batch.degree, batch.experts, batch.dimension};
    const vk::Pipeline& lm =
        context.pipelines().get("stats_lm", lm_specialization, {5, sizeof(RefinePush)});
    // Per row and step: the normal matrix, about (P + 1)^2 flops, and a trial loss.
    const double row_flops = (parameters + 1.0) * (parameters + 14.0);
    const auto lm_dispatch = [&](uint32_t count, uint32_t row_begin, uint32_t row_end,
                                 RefinePhase phase, double flops_per_row) {
      launch_groups(lm, refine_state, flops_per_row, [&](uint32_t first, uint32_t data_first) {
        return RefinePush{first,     data_first, count, optimiser.parameter_bound,
                          row_begin, row_end,    phase, static_cast<uint32_t>(lm_state)};
      });
    };
    if (!plan.refine.split) {
      for (uint32_t finished = 0; finished < refine;) {
        const uint32_t count = std::min(plan.refine.steps_per_dispatch, refine - finished);
        lm_dispatch(count, 0, UINT32_MAX, RefinePhase::fused, row_flops * count);
        finished += count;
      }
    } else {
      const double part = std::min(1.0, double(plan.refine.rows_per_part) / max_rows);
      // The normal matrix at the start, then per step a solve and the trial's normal matrix in
      // parts; the last step dispatch only decides.
      for (uint32_t step = 0; step <= refine; ++step) {
        if (step > 0) lm_dispatch(1, 0, 0, RefinePhase::step, 0.0);
        for (uint32_t p = 0; p < plan.refine.parts; ++p) {
          const uint32_t row_begin = p * plan.refine.rows_per_part;
          const bool last_part = p + 1 == plan.refine.parts;
          lm_dispatch(0, row_begin, last_part ? UINT32_MAX : row_begin + plan.refine.rows_per_part,
                      RefinePhase::accumulate, row_flops * part);
        }
      }
      lm_dispatch(0, 0, 0, RefinePhase::step, 0.0);
    }
  }

  std::vector<float> fitted(start.size()), reported(problems * report_stride);
  stream.download(theta.span(), fitted.data(), fitted.size() * sizeof(float));
  stream.download(report.span(), reported.data(), reported.size() * sizeof(float));
  stream.finish();

  result.dispatches = stream.dispatch_count();
  result.parameters.resize(start.size());
  result.gradient.resize(start.size());
  result.objective.resize(problems);
  for (uint32_t slot = 0; slot < problems; ++slot) {
    const uint32_t problem = order[slot];
    std::copy_n(fitted.begin() + size_t{slot} * parameters, parameters,
                result.parameters.begin() + size_t{problem} * parameters);
    const float* row = reported.data() + slot * report_stride;
    result.objective[problem] = row[0];
    std::copy_n(row + 1, parameters, result.gradient.begin() + size_t{problem} * parameters);
  }
  return result;
}

}  // namespace

LseBatchResult fit_batch_gpu(vk::Context& context, const LseBatch& batch,
                             const LseOptimiser& optimiser, const GpuFitOptions& options) {
  return run_batch(context, batch, optimiser, options, false);
}

LseBatchResult evaluate_batch_gpu(vk::Context& context, const LseBatch& batch) {
  return run_batch(context, batch, LseOptimiser{}, GpuFitOptions{}, true);
}

}  // namespace vkmoe::stats
