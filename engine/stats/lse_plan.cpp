#include "engine/stats/lse_plan.h"

#include <algorithm>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// The loop trips of one invocation, counted from the kernels' source. Every loop counts, also
// those over specialization constants (the compiler may or may not unroll them), and a loop
// that runs t times counts t + 1 (the back-edge of the exiting iteration). Where invocations
// take different branches, both count (SIMD drivers run both).
uint64_t loop(uint64_t trips) {
  return trips + 1;
}
uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

struct Shape {
  uint64_t k, d, degree, p;
};

// residual_and_jacobian in shaders/stats_moe.glsl, for one row: x, gate logits, softmax, experts
// (z^degree by products), Jacobian.
uint64_t row_trips(const Shape& s) {
  return loop(s.d) + 4 * loop(s.k) + s.k * (3 * loop(s.d) + loop(s.degree - 1));
}

// shaders/stats_lse.comp: `passes` passes of `trips` row-loop trips each.
uint64_t adam_trips(const Shape& s, uint64_t passes, uint64_t trips) {
  const uint64_t g = kAdamGroupSize, slots = s.p + 1;
  const uint64_t pass = loop(s.p) + loop(trips) + trips * (row_trips(s) + loop(s.p)) + loop(s.p) +
                        loop(ceil_div(slots, g)) + ceil_div(slots, g) * loop(g);
  return 2 * loop(ceil_div(s.p, g)) + loop(passes) + passes * pass;
}

// shaders/stats_lm.comp.
struct LmTrips {
  uint64_t p, q, entries, system, per_lane, per_theta;
  Shape shape;

  explicit LmTrips(const Shape& s) : shape(s) {
    p = s.p;
    q = p + 1;
    entries = q * (q + 1) / 2;
    system = p * (p + 1) / 2;
    per_lane = ceil_div(entries, kLmGroupSize);
    per_theta = loop(ceil_div(p, kLmGroupSize));  // a loop over the parameters, lane-strided
  }
  static uint64_t packed_row() { return 2 * loop(1); }
  uint64_t normal(uint64_t tiles) const {
    const uint64_t tile = row_trips(shape) + loop(p) + loop(q) + loop(per_lane) +
                          per_lane * (packed_row() + loop(kLmGroupSize));
    return 2 * loop(per_lane) + loop(tiles) + tiles * tile;
  }
  uint64_t loss(uint64_t trips) const {
    return loop(trips) + trips * row_trips(shape) + loop(kLmGroupSize);
  }
  uint64_t solve() const {
    const uint64_t over_system = ceil_div(system, kLmGroupSize);
    const uint64_t sweep = loop(over_system) + over_system * packed_row();
    return loop(p) + sweep + loop(p) + p * (per_theta + sweep) + 2 * (loop(p) + p * loop(p));
  }
  uint64_t around() const { return 2 * per_theta; }  // main: theta in, results out
  uint64_t fused(uint64_t steps, uint64_t tiles) const {
    return around() + normal(tiles) + loop(steps) +
           steps * (solve() + 2 * per_theta + loss(tiles) + normal(tiles));
  }
  uint64_t accumulate(uint64_t tiles) const {
    return around() + per_theta + normal(tiles) + loop(ceil_div(entries, kLmGroupSize));
  }
  uint64_t step() const {
    return around() + loop(ceil_div(entries, kLmGroupSize)) + 2 * per_theta + solve();
  }
};

[[noreturn]] void too_long(const char* what, uint64_t trips, uint32_t limit, const Shape& s) {
  throw Error("lse: " + std::string(what) + " for " + std::to_string(s.k) +
              " experts in dimension " + std::to_string(s.d) + " counts " + std::to_string(trips) +
              " loop trips per invocation; the device ends loops after " + std::to_string(limit));
}

}  // namespace

GpuFitPlan plan_gpu_fit(uint32_t max_loop_iterations, const LseBatch& batch, uint32_t max_rows,
                        const LseOptimiser& optimiser, const GpuFitOptions& options) {
  const Shape shape{batch.experts, batch.dimension, std::max<uint32_t>(batch.degree, 1),
                    batch.parameters()};
  if (options.iterations_per_dispatch == 0 || options.refine_iterations_per_dispatch == 0) {
    throw Error("lse: iterations per dispatch must be at least 1");
  }
  const uint32_t steps = optimiser.adam.iterations, refine = optimiser.refine.iterations;
  const bool limited = max_loop_iterations != 0;
  // The count is an upper bound; the margin covers what it may have missed.
  const uint64_t budget = uint64_t{max_loop_iterations} * 7 / 8;
  GpuFitPlan plan;

  // Adam: the last dispatch also makes the report's pass.
  KernelPlan& adam = plan.adam;
  const uint64_t adam_rows = ceil_div(max_rows, kAdamGroupSize);
  const uint64_t adam_pass = adam_trips(shape, 1, adam_rows) - adam_trips(shape, 0, adam_rows);
  const uint64_t adam_fixed = adam_trips(shape, 0, adam_rows);
  const uint64_t passes_fit = !limited              ? UINT64_MAX
                              : budget > adam_fixed ? (budget - adam_fixed) / adam_pass
                                                    : 0;
  if (passes_fit >= 2) {
    adam.steps_per_dispatch =
        static_cast<uint32_t>(std::min<uint64_t>(options.iterations_per_dispatch, passes_fit - 1));
    adam.rows_per_part = max_rows;
    adam.dispatches = std::max<uint64_t>(1, ceil_div(steps, adam.steps_per_dispatch));
    adam.loop_trips =
        limited ? adam_trips(shape, std::min(steps, adam.steps_per_dispatch) + 1, adam_rows) : 0;
  } else {
    const uint64_t one = adam_trips(shape, 1, 1) - adam_trips(shape, 1, 0);  // per row trip
    const uint64_t fit =
        budget > adam_trips(shape, 1, 0) ? (budget - adam_trips(shape, 1, 0)) / one : 0;
    if (fit == 0) too_long("one Adam step", adam_trips(shape, 1, 1), max_loop_iterations, shape);
    adam.split = true;
    adam.steps_per_dispatch = 1;
    adam.parts = static_cast<uint32_t>(ceil_div(adam_rows, fit));
    const uint64_t trips = ceil_div(adam_rows, adam.parts);
    adam.rows_per_part = static_cast<uint32_t>(trips * kAdamGroupSize);
    adam.dispatches = (uint64_t{steps} + 1) * adam.parts;
    adam.loop_trips = adam_trips(shape, 1, trips);
  }

  // Levenberg-Marquardt.
  KernelPlan& lm = plan.refine;
  if (refine == 0) return plan;
  const LmTrips counts(shape);
  const uint64_t tiles = ceil_div(max_rows, kLmGroupSize);
  const uint64_t lm_fixed = counts.fused(0, tiles), lm_step = counts.fused(1, tiles) - lm_fixed;
  const uint64_t steps_fit = !limited            ? UINT64_MAX
                             : budget > lm_fixed ? (budget - lm_fixed) / lm_step
                                                 : 0;
  if (steps_fit >= 1) {
    lm.steps_per_dispatch = static_cast<uint32_t>(
        std::min<uint64_t>(options.refine_iterations_per_dispatch, steps_fit));
    lm.rows_per_part = max_rows;
    lm.dispatches = ceil_div(refine, lm.steps_per_dispatch);
    lm.loop_trips = limited ? counts.fused(std::min(refine, lm.steps_per_dispatch), tiles) : 0;
  } else {
    if (counts.step() > budget) {
      too_long("a Levenberg-Marquardt solve", counts.step(), max_loop_iterations, shape);
    }
    const uint64_t one = counts.accumulate(1) - counts.accumulate(0);  // per tile
    const uint64_t fit = budget > counts.accumulate(0) ? (budget - counts.accumulate(0)) / one : 0;
    if (fit == 0) {
      too_long("a Levenberg-Marquardt tile", counts.accumulate(1), max_loop_iterations, shape);
    }
    lm.split = true;
    lm.steps_per_dispatch = 1;
    lm.parts = static_cast<uint32_t>(ceil_div(tiles, fit));
    const uint64_t part_tiles = ceil_div(tiles, lm.parts);
    lm.rows_per_part = static_cast<uint32_t>(part_tiles * kLmGroupSize);
    // The normal matrix at the start, then per step a solve and the trial's normal matrix, and
    // a last decision.
    lm.dispatches = (uint64_t{refine} + 1) * (lm.parts + 1);
    lm.loop_trips = std::max(counts.step(), counts.accumulate(part_tiles));
  }
  return plan;
}

}  // namespace vkmoe::stats
