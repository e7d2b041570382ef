#include "engine/stats/bayes_hmc.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "engine/ops/launch.h"
#include "engine/stats/counter_rng.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"

namespace vkmoe::stats {

namespace {

constexpr uint32_t kGroupSize = 64;  // invocations per chain

// stats_hmc.comp's flags.
constexpr uint32_t kEvaluate = 1, kBegin = 2, kEnd = 4, kAdapt = 8, kWelford = 16, kSetMetric = 32,
                   kFreeze = 64, kStore = 128;

struct Push {
  uint32_t chain_first;
  uint32_t data_first;
  uint32_t seed_low;
  uint32_t seed_high;
  uint32_t transition;
  uint32_t steps;
  uint32_t step_first;
  uint32_t max_steps;
  uint32_t flags;
  uint32_t draw;
  uint32_t chain_count;
  float gate_sd;
  float expert_sd;
  float noise_shape;
  float noise_scale;
  float noise_log_norm;
  float target_accept;
  float gamma;
  float t0;
  float kappa;
  float weight_concentration;
  float weight_log_norm;
};

// The chain state's layout (stats_hmc.comp): eight blocks of P floats (position, gradient,
// momentum, start position, start gradient, inverse metric, running mean, running M2), then
// nine scalars from log density to the averaging's anchor.
struct StateLayout {
  uint32_t parameters;
  uint32_t stride() const { return 8 * parameters + 9; }
  uint32_t gradient() const { return parameters; }
  uint32_t inverse_metric() const { return 5 * parameters; }
  uint32_t log_density() const { return 8 * parameters; }
  uint32_t log_step() const { return 8 * parameters + 3; }
  uint32_t anchor() const { return 8 * parameters + 8; }
};

// Back-edges one invocation takes for one gradient, counted from the kernel's loops the way
// lse_plan.cpp counts them (every loop, t trips counting t + 1), and for the rest of a
// transition; on a driver with a loop limit (lavapipe) a dispatch must stay under it.
uint64_t loop_trips_per_gradient(const BayesMoe& model, uint32_t rows) {
  const uint64_t k = model.experts, d = model.dimension, p = model.parameters();
  const uint64_t degree = model.family == ExpertFamily::polynomial ? model.degree : 0;
  const uint64_t per_row =
      (d + 1) + (k + 1) * (d + 2 + degree + 1) + 3 * (k + 1) + (k + 1) * (d + 2) + 1;
  const uint64_t rows_per_lane = (rows + kGroupSize - 1) / kGroupSize;
  const uint64_t slots_per_lane = (p + 1 + kGroupSize - 1) / kGroupSize;
  // The row loop, the gradient's zeroing and store, the gate biases' softmax (two loops over
  // K), the column sums, the prior (one lane: its loop and the Dirichlet sum), then the
  // leapfrog step's own loop and its two position/momentum loops.
  const uint64_t leapfrog = 1 + 2 * ((p + kGroupSize - 1) / kGroupSize + 1);
  return rows_per_lane * per_row + (rows_per_lane + 1) + 2 * (p + 1) + 2 * (k + 1) +
         (slots_per_lane + 1) * (kGroupSize + 1) + (p + 1) + (k + 1) + leapfrog;
}

uint64_t loop_trips_outside_gradients(const BayesMoe& model) {
  const uint64_t p = model.parameters();
  const uint64_t per_lane = (p + kGroupSize - 1) / kGroupSize + 1;
  return 4 * (p + 1) + 16 * per_lane;
}

// Leapfrog steps one dispatch may run (0 limit: all of them).
uint32_t steps_per_dispatch(uint32_t loop_limit, const BayesMoe& model, uint32_t rows,
                            uint32_t leapfrog_steps) {
  if (loop_limit == 0) return leapfrog_steps;
  const uint64_t budget = uint64_t{loop_limit} * 7 / 8;
  const uint64_t gradient = loop_trips_per_gradient(model, rows);
  const uint64_t fixed = loop_trips_outside_gradients(model) + gradient;  // EVALUATE counts one
  if (fixed + gradient > budget) {
    throw Error("hmc: one gradient over " + std::to_string(rows) + " rows (" +
                std::to_string(gradient) + " loop trips per invocation) does not fit this " +
                "driver's loop limit of " + std::to_string(loop_limit) + "; use fewer samples");
  }
  return static_cast<uint32_t>(
      std::clamp<uint64_t>((budget - fixed) / gradient, 1, std::max(leapfrog_steps, 1u)));
}

// Buffers and pipeline of one run over `chains` chains that start at `positions`.
class ChainKernel {
 public:
  ChainKernel(vk::Context& context, const HmcProblem& problem, const HmcSettings& settings,
              uint32_t chains, std::span<const double> positions, uint64_t draw_floats)
      : context_(context),
        model_(problem.model),
        layout_{problem.model.parameters()},
        chains_(chains),
        stream_(context) {
    validate_model(model_);
    const std::vector<const Dataset*> sets = chain_data_sets(problem);
    if (chains == 0 || chains > context.info().max_workgroup_count[0] || chains % sets.size()) {
      throw Error(
          "hmc: chains must be 1.." + std::to_string(context.info().max_workgroup_count[0]) +
          " and a multiple of the number of data sets (" + std::to_string(sets.size()) + ")");
    }
    // All data sets in one buffer; the chain table gives each chain its (first row, rows,
    // temperature).
    std::vector<float> rows;
    if (!problem.temperatures.empty() && problem.temperatures.size() != chains) {
      throw Error("hmc: one temperature per chain (" + std::to_string(chains) + "), got " +
                  std::to_string(problem.temperatures.size()));
    }
    for (double t : problem.temperatures) {
      if (!(t >= 0 && t <= 1)) throw Error("hmc: temperatures must lie in [0, 1]");
    }
    std::vector<uint32_t> table(3 * size_t{chains}, 0);
    const uint32_t per_set = chains / static_cast<uint32_t>(sets.size());
    for (size_t g = 0; g < sets.size(); ++g) {
      const Dataset& data = *sets[g];
      if (data.dimension != model_.dimension || data.samples == 0) {
        throw Error("hmc: every data set must be non-empty with the model's dimension");
      }
      const uint32_t first = static_cast<uint32_t>(rows.size() / data.stride());
      for (uint32_t c = static_cast<uint32_t>(g) * per_set; c < (g + 1) * per_set; ++c) {
        table[3 * c] = first;
        table[3 * c + 1] = data.samples;
        table[3 * c + 2] = std::bit_cast<uint32_t>(
            static_cast<float>(problem.temperatures.empty() ? 1.0 : problem.temperatures[c]));
      }
      rows.insert(rows.end(), data.rows.begin(), data.rows.end());
      rows_ = std::max(rows_, data.samples);
      row_sum_ += static_cast<double>(data.samples) * per_set;
    }
    const uint32_t p = layout_.parameters;
    free_ = problem.free.empty() ? default_free_mask(model_) : problem.free;
    if (free_.size() != p) throw Error("hmc: the free mask must have one entry per parameter");
    const uint64_t state_floats = uint64_t{chains} * layout_.stride();
    for (uint64_t floats : {state_floats, draw_floats, uint64_t{rows.size()}}) {
      if (floats * sizeof(float) > context.max_binding_range()) {
        throw Error("hmc: " + std::to_string(floats * sizeof(float)) +
                    " bytes of data, state or draws do not fit one binding "
                    "(maxStorageBufferRange " +
                    std::to_string(context.max_binding_range()) + "); run fewer chains or draws");
      }
    }

    std::vector<float> state(state_floats, 0.0f);
    for (uint32_t c = 0; c < chains; ++c) {
      float* s = state.data() + size_t{c} * layout_.stride();
      for (uint32_t q = 0; q < p; ++q) {
        s[q] = static_cast<float>(positions[size_t{c} * p + q]);
        s[layout_.inverse_metric() + q] = 1.0f;
      }
      s[layout_.log_step()] = static_cast<float>(std::log(settings.initial_step));
      s[layout_.anchor()] = static_cast<float>(std::log(10.0 * settings.initial_step));
    }
    const std::vector<uint32_t> mask(free_.begin(), free_.end());
    data_ = context.create_buffer(rows.size() * sizeof(float), "hmc_data");
    table_ = context.create_buffer(table.size() * sizeof(uint32_t), "hmc_chains");
    state_ = context.create_buffer(state.size() * sizeof(float), "hmc_state");
    mask_ = context.create_buffer(mask.size() * sizeof(uint32_t), "hmc_free");
    draws_ = context.create_buffer(std::max<uint64_t>(draw_floats, 1) * sizeof(float), "hmc_draws");
    stream_.upload(data_.span(), rows.data(), rows.size() * sizeof(float));
    stream_.upload(table_.span(), table.data(), table.size() * sizeof(uint32_t));
    stream_.upload(state_.span(), state.data(), state.size() * sizeof(float));
    stream_.upload(mask_.span(), mask.data(), mask.size() * sizeof(uint32_t));

    const uint32_t specialization[] = {kGroupSize, static_cast<uint32_t>(model_.family),
                                       model_.degree, model_.experts, model_.dimension};
    pipeline_ = &context.pipelines().get("stats_hmc", specialization, {5, sizeof(Push)});
    const BayesPrior& prior = model_.prior;
    push_ = Push{};
    push_.seed_low = static_cast<uint32_t>(settings.seed);
    push_.seed_high = static_cast<uint32_t>(settings.seed >> 32);
    push_.chain_count = chains;
    push_.max_steps = std::max(settings.leapfrog_steps, 1u);
    push_.gate_sd = static_cast<float>(prior.gate_sd);
    push_.expert_sd = static_cast<float>(prior.expert_sd);
    push_.noise_shape = static_cast<float>(prior.noise_shape);
    push_.noise_scale = static_cast<float>(prior.noise_scale);
    push_.noise_log_norm = static_cast<float>(prior.noise_shape * std::log(prior.noise_scale) -
                                              std::lgamma(prior.noise_shape));
    push_.target_accept = static_cast<float>(settings.target_accept);
    push_.gamma = static_cast<float>(settings.gamma);
    push_.t0 = static_cast<float>(settings.t0);
    push_.kappa = static_cast<float>(settings.kappa);
    const double alpha = prior.weight_concentration, k = model_.experts;
    push_.weight_concentration = static_cast<float>(alpha);
    push_.weight_log_norm =
        alpha > 0 ? static_cast<float>(std::lgamma(k * alpha) - k * std::lgamma(alpha)) : 0.0f;
  }

  void dispatch(uint32_t transition, uint32_t step_first, uint32_t steps, uint32_t flags,
                uint32_t draw) {
    const ops::AlignedBinding bound = ops::align_binding(context_, data_.span(), sizeof(float));
    const vk::Binding bindings[] = {{bound.span, vk::Access::read},
                                    {table_.span(), vk::Access::read},
                                    {state_.span(), vk::Access::read_write},
                                    {mask_.span(), vk::Access::read},
                                    {draws_.span(), vk::Access::write}};
    Push push = push_;
    push.data_first = bound.first_element;
    push.transition = transition;
    push.steps = steps;
    push.step_first = step_first;
    push.flags = flags;
    push.draw = draw;
    // Per row and gradient: gates, experts, densities and the gradient, ~20 flops a parameter.
    const double gradients = steps + ((flags & kEvaluate) ? 1.0 : 0.0);
    stream_.dispatch(*pipeline_, bindings, ops::push_bytes(push), {chains_, 1, 1}, pipeline_->name,
                     {gradients * row_sum_ * 20.0 * layout_.parameters,
                      gradients * row_sum_ * (model_.dimension + 1) * 4.0});
  }

  // `out` is written by finish(); it must not move until then.
  void download_state(std::vector<float>& out) {
    out.resize(size_t{chains_} * layout_.stride());
    stream_.download(state_.span(), out.data(), out.size() * sizeof(float));
  }
  void download_draws(std::vector<float>& out) {
    stream_.download(draws_.span(), out.data(), out.size() * sizeof(float));
  }
  void finish() { stream_.finish(); }
  uint64_t dispatches() const { return stream_.dispatch_count(); }
  const StateLayout& layout() const { return layout_; }
  uint32_t rows() const { return rows_; }  // of the largest data set: what the loop plan needs

 private:
  vk::Context& context_;
  BayesMoe model_;
  StateLayout layout_;
  uint32_t chains_;
  uint32_t rows_ = 0;
  double row_sum_ = 0;  // rows over all chains, for the profiler's flop count
  std::vector<uint8_t> free_;
  vk::Stream stream_;
  vk::Buffer data_, table_, state_, mask_, draws_;
  const vk::Pipeline* pipeline_ = nullptr;
  Push push_{};
};

void validate_problem(const HmcProblem& problem) {
  validate_model(problem.model);
  const uint32_t p = problem.model.parameters();
  if (problem.data == nullptr && problem.data_sets.empty()) throw Error("hmc: no data set");
  for (const Dataset* set : problem.data_sets) {
    if (set == nullptr) throw Error("hmc: a data set is missing");
  }
  if (!problem.free.empty() && problem.free.size() != p) {
    throw Error("hmc: the free mask must have one entry per parameter (" + std::to_string(p) + ")");
  }
  if (!problem.fixed.empty() && problem.fixed.size() != p) {
    throw Error("hmc: fixed values must have one entry per parameter (" + std::to_string(p) + ")");
  }
}

}  // namespace

std::vector<const Dataset*> chain_data_sets(const HmcProblem& problem) {
  if (!problem.data_sets.empty()) return problem.data_sets;
  return {problem.data};
}

std::vector<double> initial_positions(const HmcProblem& problem, const HmcSettings& settings) {
  validate_problem(problem);
  const uint32_t p = problem.model.parameters();
  const std::vector<uint8_t> free =
      problem.free.empty() ? default_free_mask(problem.model) : problem.free;
  std::vector<double> out(size_t{settings.chains} * p);
  for (uint32_t c = 0; c < settings.chains; ++c) {
    const CounterRng rng(settings.seed, 0x4e3c0000ull + c);
    for (uint32_t q = 0; q < p; ++q) {
      out[size_t{c} * p + q] = free[q] ? settings.init_radius * (2.0 * rng.uniform(q) - 1.0)
                               : problem.fixed.empty() ? 0.0
                                                       : problem.fixed[q];
    }
  }
  return out;
}

PosteriorDraws sample_posterior_gpu(vk::Context& context, const HmcProblem& problem,
                                    const HmcSettings& settings) {
  validate_problem(problem);
  if (settings.leapfrog_steps == 0 || settings.draws == 0) {
    throw Error("hmc: leapfrog steps and draws must be at least 1");
  }
  if (!(settings.initial_step > 0) || !(settings.target_accept > 0 && settings.target_accept < 1)) {
    throw Error("hmc: the initial step must be positive and the target acceptance in (0, 1)");
  }
  const uint32_t p = problem.model.parameters(), chains = settings.chains;
  const uint64_t draw_stride = p + 3;
  const uint64_t draw_floats = uint64_t{settings.draws} * chains * draw_stride;
  const std::vector<double> start = initial_positions(problem, settings);
  ChainKernel kernel(context, problem, settings, chains, start, draw_floats);
  uint32_t per_dispatch = steps_per_dispatch(context.info().max_loop_iterations, problem.model,
                                             kernel.rows(), settings.leapfrog_steps);
  if (settings.max_steps_per_dispatch > 0) {
    per_dispatch = std::min(per_dispatch, settings.max_steps_per_dispatch);
  }

  const uint32_t warmup = settings.warmup;
  const bool metric = warmup >= 20;
  const uint32_t window_begin = warmup * 15 / 100, window_end = warmup * 90 / 100;
  kernel.dispatch(0, 0, 0, kEvaluate, 0);
  for (uint32_t t = 0; t < warmup + settings.draws; ++t) {
    uint32_t end_flags = kEnd;
    if (t < warmup) {
      end_flags |= kAdapt;
      if (metric && t >= window_begin && t < window_end) end_flags |= kWelford;
      if (metric && t + 1 == window_end) end_flags |= kSetMetric;
      if (t + 1 == warmup) end_flags |= kFreeze;
    } else {
      end_flags |= kStore;
    }
    for (uint32_t done = 0; done < settings.leapfrog_steps;) {
      const uint32_t steps = std::min(per_dispatch, settings.leapfrog_steps - done);
      const bool last = done + steps == settings.leapfrog_steps;
      kernel.dispatch(t, done, steps, (done == 0 ? kBegin : 0) | (last ? end_flags : 0),
                      t < warmup ? 0 : t - warmup);
      done += steps;
    }
  }
  std::vector<float> raw(draw_floats);
  kernel.download_draws(raw);
  std::vector<float> state;
  kernel.download_state(state);
  kernel.finish();

  PosteriorDraws out;
  out.chains = chains;
  out.draws = settings.draws;
  out.parameters = p;
  out.dispatches = kernel.dispatches();
  out.values.resize(size_t{chains} * settings.draws * p);
  out.log_density.resize(size_t{chains} * settings.draws);
  out.accept.resize(out.log_density.size());
  out.divergent.resize(out.log_density.size());
  for (uint32_t d = 0; d < settings.draws; ++d) {
    for (uint32_t c = 0; c < chains; ++c) {
      const float* row = raw.data() + (size_t{d} * chains + c) * draw_stride;
      const size_t at = size_t{c} * settings.draws + d;
      std::copy_n(row, p, out.values.begin() + at * p);
      out.log_density[at] = row[p];
      out.accept[at] = row[p + 1];
      out.divergent[at] = row[p + 2] != 0.0f;
    }
  }
  for (uint32_t c = 0; c < chains; ++c) {
    out.step_size.push_back(
        std::exp(state[size_t{c} * kernel.layout().stride() + kernel.layout().log_step()]));
  }
  return out;
}

DensityAt log_posterior_gpu(vk::Context& context, const HmcProblem& problem,
                            std::span<const double> positions) {
  validate_problem(problem);
  const uint32_t p = problem.model.parameters();
  if (positions.empty() || positions.size() % p != 0) {
    throw Error("hmc: positions must be a whole number of parameter vectors");
  }
  const uint32_t count = static_cast<uint32_t>(positions.size() / p);
  ChainKernel kernel(context, problem, HmcSettings{}, count, positions, 0);
  // One gradient, whatever the loop limit: fails here (with the limit named) if it cannot fit.
  steps_per_dispatch(context.info().max_loop_iterations, problem.model, kernel.rows(), 1);
  kernel.dispatch(0, 0, 0, kEvaluate, 0);
  std::vector<float> state;
  kernel.download_state(state);
  kernel.finish();
  DensityAt out;
  const StateLayout& layout = kernel.layout();
  for (uint32_t c = 0; c < count; ++c) {
    const float* s = state.data() + size_t{c} * layout.stride();
    out.log_density.push_back(s[layout.log_density()]);
    out.gradient.insert(out.gradient.end(), s + layout.gradient(), s + layout.gradient() + p);
  }
  return out;
}

}  // namespace vkmoe::stats
