#include "engine/ops/attention_backward.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 64;

struct Push {
  uint32_t queries, first_position, q_heads, kv_heads, group_size;
  float scale;
  uint32_t head_dim;
  uint32_t q_token_stride, q_head_stride, kv_token_stride, kv_head_stride;
  uint32_t out_token_stride, out_head_stride;
  uint32_t q_first, k_first, v_first, out_first, d_out_first;
  uint32_t grad_first, grad2_first;
  uint32_t begin, end;
  uint32_t first_dispatch;
};

uint32_t max_head_dim(uint32_t head_dim) {
  return head_dim <= 64 ? 64 : head_dim <= 128 ? 128 : 256;
}

// How many of a pass's outer steps (keys, or queries) one dispatch may take when each costs
// `per_step` loop trips per invocation on top of `fixed`, within half the device's bound.
uint32_t steps_per_dispatch(const vk::DeviceInfo& device, uint32_t requested, uint64_t per_step,
                            uint64_t fixed) {
  uint64_t steps = UINT32_MAX;
  if (device.max_loop_iterations != 0) {
    const uint64_t budget = device.max_loop_iterations / 2;
    steps = budget > fixed ? std::max<uint64_t>(1, (budget - fixed) / per_step) : 1;
  }
  if (requested != 0) steps = std::min<uint64_t>(steps, requested);
  return static_cast<uint32_t>(steps);
}

}  // namespace

uint64_t attention_backward_scratch_bytes(const AttentionShape& shape) {
  return uint64_t{shape.queries} * shape.q_heads * 3 * 4;
}

void attention_backward(vk::Stream& stream, const AttentionBackwardArgs& a) {
  const AttentionShape& s = a.shape;
  const auto fail = [&](const std::string& why) { s.fail("attention_backward", why); };
  s.check_heads("attention_backward");
  const uint32_t keys = s.first_position + s.queries;
  const uint64_t q_bytes = s.q_bytes();
  const uint64_t kv_bytes = s.kv_bytes();
  const uint64_t out_bytes = s.out_bytes();
  if (a.q.size < q_bytes || a.dq.size < q_bytes) fail("q or dq is smaller than its shape");
  if (a.k_cache.size < kv_bytes || a.v_cache.size < kv_bytes || a.dk.size < kv_bytes ||
      a.dv.size < kv_bytes) {
    fail("k, v, dk or dv does not hold " + std::to_string(keys) + " positions");
  }
  if (a.out.size < out_bytes || a.d_out.size < out_bytes) fail("out or d_out is too small");
  if (a.scratch.size < attention_backward_scratch_bytes(s)) fail("scratch is too small");
  for (const vk::BufferSpan& grad : {a.dq, a.dk, a.dv, a.scratch}) {
    for (const vk::BufferSpan& in : {a.q, a.k_cache, a.v_cache, a.out, a.d_out}) {
      if (grad.overlaps(in)) fail("a gradient or the scratch overlaps an input");
    }
  }
  if (a.dq.overlaps(a.dk) || a.dq.overlaps(a.dv) || a.dk.overlaps(a.dv) ||
      a.scratch.overlaps(a.dq) || a.scratch.overlaps(a.dk) || a.scratch.overlaps(a.dv)) {
    fail("the gradients and the scratch must not overlap");
  }

  vk::Context& context = stream.context();
  const vk::DeviceInfo& device = context.info();
  const uint32_t group = s.q_heads / s.kv_heads;
  const uint32_t D = s.head_dim;
  const AlignedBinding bq = align_binding(context, a.q.sub(0, q_bytes), 4);
  const AlignedBinding bk = align_binding(context, a.k_cache.sub(0, kv_bytes), 4);
  const AlignedBinding bv = align_binding(context, a.v_cache.sub(0, kv_bytes), 4);
  const AlignedBinding bo = align_binding(context, a.out.sub(0, out_bytes), 4);
  const AlignedBinding bdo = align_binding(context, a.d_out.sub(0, out_bytes), 4);
  const AlignedBinding bdq = align_binding(context, a.dq.sub(0, q_bytes), 4);
  const AlignedBinding bdk = align_binding(context, a.dk.sub(0, kv_bytes), 4);
  const AlignedBinding bdv = align_binding(context, a.dv.sub(0, kv_bytes), 4);
  const AlignedBinding bs =
      align_binding(context, a.scratch.sub(0, attention_backward_scratch_bytes(s)), 4);
  if (bs.first_element != 0) fail("the scratch must start at a multiple of the binding alignment");
  // Tensors are bound whole (as the forward binds them): none may pass the binding limit.
  for (const AlignedBinding* b : {&bq, &bk, &bv, &bo, &bdo, &bdq, &bdk, &bdv, &bs}) {
    if (b->span.size > context.max_binding_range()) {
      fail("a tensor of " + std::to_string(b->span.size) + " bytes is larger than one binding (" +
           std::to_string(context.max_binding_range()) + " bytes); run the sequence in parts");
    }
  }

  Push push{s.queries,
            s.first_position,
            s.q_heads,
            s.kv_heads,
            group,
            s.scale != 0 ? s.scale : 1.0f / std::sqrt(float(D)),
            D,
            s.q_token_stride,
            s.q_head_stride,
            s.kv_token_stride,
            s.kv_head_stride,
            s.out_token_stride,
            s.out_head_stride,
            bq.first_element,
            bk.first_element,
            bv.first_element,
            bo.first_element,
            bdo.first_element,
            0,
            0,
            0,
            0,
            0};
  const uint32_t spec[] = {kGroupSize, max_head_dim(D)};
  const uint64_t rows = uint64_t{s.queries} * s.q_heads;
  const uint64_t columns = uint64_t{keys} * s.kv_heads;
  const double mean_visible = double(s.first_position) + 0.5 * (s.queries + 1);
  const double pair_work = double(rows) * mean_visible * D;  // (query, key) pairs x head_dim

  // Runs `name` over [0, total) of its outer loop in pieces of `step`.
  const auto passes = [&](const char* name, std::span<const vk::Binding> bindings, uint32_t total,
                          uint32_t step, uint64_t invocations, double flops,
                          uint32_t binding_count) {
    const vk::Pipeline& pipeline =
        context.pipelines().get(name, spec, {binding_count, sizeof(Push)});
    const uint32_t dispatches = (total + step - 1) / step;
    for (uint32_t i = 0; i < dispatches; ++i) {
      push.begin = i * step;
      push.end = std::min(total, push.begin + step);
      push.first_dispatch = i == 0 ? 1 : 0;
      stream.dispatch(pipeline, bindings, push_bytes(push),
                      linear_grid(context, invocations, kGroupSize), name,
                      {flops / dispatches, 4.0 * double(D) * double(rows + columns) / dispatches});
    }
  };

  const vk::Binding stats_bindings[] = {{bq.span, vk::Access::read},
                                        {bk.span, vk::Access::read},
                                        {bo.span, vk::Access::read},
                                        {bdo.span, vk::Access::read},
                                        {bs.span, vk::Access::read_write}};
  passes("attention_backward_stats", stats_bindings, keys,
         steps_per_dispatch(device, a.max_per_dispatch, D + 2, D + 8), rows, 2.0 * pair_work, 5);

  push.grad_first = bdq.first_element;
  const vk::Binding dq_bindings[] = {
      {bq.span, vk::Access::read}, {bk.span, vk::Access::read},
      {bv.span, vk::Access::read}, {bdo.span, vk::Access::read},
      {bs.span, vk::Access::read}, {bdq.span, vk::Access::read_write}};
  passes("attention_backward_dq", dq_bindings, keys,
         steps_per_dispatch(device, a.max_per_dispatch, 3 * uint64_t{D} + 2, 2 * uint64_t{D} + 8),
         rows, 6.0 * pair_work, 6);

  push.grad_first = bdk.first_element;
  push.grad2_first = bdv.first_element;
  const vk::Binding dkv_bindings[] = {
      {bq.span, vk::Access::read},       {bk.span, vk::Access::read},
      {bv.span, vk::Access::read},       {bdo.span, vk::Access::read},
      {bs.span, vk::Access::read},       {bdk.span, vk::Access::read_write},
      {bdv.span, vk::Access::read_write}};
  passes("attention_backward_dkv", dkv_bindings, s.queries,
         steps_per_dispatch(device, a.max_per_dispatch, uint64_t{group} * (3 * uint64_t{D} + 2),
                            4 * uint64_t{D} + group + 8),
         columns, 8.0 * pair_work, 7);
}

}  // namespace vkmoe::ops
