#include "engine/ops/attention.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kPrefillRows = 16;
constexpr uint32_t kDecodeGroup = 64;
constexpr uint32_t kSplitKeys = 256;

// Shared arrays are sized for the next of 64, 128, 256: three pipeline variants at most.
uint32_t max_head_dim(uint32_t head_dim) {
  return head_dim <= 64 ? 64 : head_dim <= 128 ? 128 : 256;
}

constexpr uint32_t kPrefillBlockKeysMax = 16;

uint32_t prefill_block_keys(const vk::DeviceInfo& device, uint32_t max_dim) {
  // Two tiles of keys and values plus each row's accumulator must fit in shared memory.
  const uint32_t free_bytes = device.shared_memory_bytes - kPrefillRows * max_dim * 4;
  return std::clamp<uint32_t>(free_bytes / (2 * max_dim * 4), 1, kPrefillBlockKeysMax);
}

// Keys one prefill dispatch may cover. Unbounded unless the device stops loops after a number
// of iterations; then each invocation's loop trips per tile of keys (tile load, scores,
// accumulation) are counted and the keys cut so the total stays well inside the limit.
uint32_t prefill_segment_keys(const vk::DeviceInfo& device, const AttentionShape& shape) {
  if (device.max_loop_iterations == 0) return UINT32_MAX;
  const uint32_t block_keys = prefill_block_keys(device, max_head_dim(shape.head_dim));
  const uint32_t per_tile =
      block_keys * shape.head_dim / kPrefillRows + 2 * block_keys * shape.head_dim + 8;
  const uint32_t budget = device.max_loop_iterations / 2 - 4 * shape.head_dim;
  return std::max<uint32_t>(1, budget / per_tile) * block_keys;
}

uint32_t splits_for(const AttentionShape& shape) {
  const uint32_t keys = shape.first_position + 1;
  return (keys + kSplitKeys - 1) / kSplitKeys;
}

// Bytes from the start of a strided [tokens, heads, dim] view to one past its last float.
uint64_t view_bytes(uint32_t tokens, uint32_t token_stride, uint32_t heads, uint32_t head_stride,
                    uint32_t dim) {
  return (uint64_t{tokens - 1} * token_stride + uint64_t{heads - 1} * head_stride + dim) * 4;
}

void validate(const AttentionShape& s, vk::BufferSpan q, vk::BufferSpan k, vk::BufferSpan v,
              vk::BufferSpan out) {
  const auto fail = [&](const std::string& why) { s.fail("attention", why); };
  s.check_heads("attention");
  if (q.size < s.q_bytes()) fail("q is smaller than its shape");
  if (k.size < s.kv_bytes() || v.size < s.kv_bytes())
    fail("the KV cache does not hold " + std::to_string(s.first_position + s.queries) +
         " positions");
  if (out.size < s.out_bytes()) fail("out is smaller than its shape");
}

}  // namespace

AttentionShape AttentionShape::packed(uint32_t queries, uint32_t first_position, uint32_t q_heads,
                                      uint32_t kv_heads, uint32_t head_dim) {
  AttentionShape s;
  s.queries = queries;
  s.first_position = first_position;
  s.q_heads = q_heads;
  s.kv_heads = kv_heads;
  s.head_dim = head_dim;
  s.q_token_stride = s.out_token_stride = q_heads * head_dim;
  s.q_head_stride = s.out_head_stride = head_dim;
  s.kv_token_stride = kv_heads * head_dim;
  s.kv_head_stride = head_dim;
  return s;
}

uint64_t AttentionShape::q_bytes() const {
  return view_bytes(queries, q_token_stride, q_heads, q_head_stride, head_dim);
}

uint64_t AttentionShape::kv_bytes() const {
  return view_bytes(first_position + queries, kv_token_stride, kv_heads, kv_head_stride, head_dim);
}

uint64_t AttentionShape::out_bytes() const {
  return view_bytes(queries, out_token_stride, q_heads, out_head_stride, head_dim);
}

void AttentionShape::fail(const char* op, const std::string& why) const {
  throw Error(std::string(op) + " (queries " + std::to_string(queries) + ", heads " +
              std::to_string(q_heads) + "/" + std::to_string(kv_heads) + ", head_dim " +
              std::to_string(head_dim) + "): " + why);
}

void AttentionShape::check_heads(const char* op) const {
  if (queries == 0 || q_heads == 0 || kv_heads == 0 || head_dim == 0) fail(op, "empty shape");
  if (q_heads % kv_heads) fail(op, "query heads must be a multiple of key/value heads");
  if (head_dim > 256) fail(op, "head_dim above 256 is not supported");
}

uint64_t attention_scratch_bytes(const vk::DeviceInfo& device, const AttentionShape& shape) {
  const uint64_t per_row = uint64_t{shape.q_heads} * (shape.head_dim + 2) * 4;
  if (shape.queries == 1) return per_row * splits_for(shape);
  return prefill_segment_keys(device, shape) < shape.first_position + shape.queries
             ? per_row * shape.queries
             : 0;
}

void attention(vk::Stream& stream, vk::BufferSpan q, vk::BufferSpan k_cache, vk::BufferSpan v_cache,
               vk::BufferSpan out, vk::BufferSpan scratch, const AttentionShape& shape) {
  validate(shape, q, k_cache, v_cache, out);
  vk::Context& context = stream.context();
  const float scale = shape.scale != 0 ? shape.scale : 1.0f / std::sqrt(float(shape.head_dim));
  const AlignedBinding bq = align_binding(context, q, 4);
  const AlignedBinding bk = align_binding(context, k_cache, 4);
  const AlignedBinding bv = align_binding(context, v_cache, 4);
  const AlignedBinding bo = align_binding(context, out, 4);
  const uint32_t group = shape.q_heads / shape.kv_heads;
  const double mean_visible = double(shape.first_position) + 0.5 * (shape.queries + 1);
  const double flops = 4.0 * shape.queries * shape.q_heads * mean_visible * shape.head_dim;
  const double bytes = 4.0 * shape.head_dim *
                       (2.0 * shape.queries * shape.q_heads +
                        2.0 * (shape.first_position + shape.queries) * shape.kv_heads);

  if (shape.queries > 1) {
    const uint32_t max_dim = max_head_dim(shape.head_dim);
    const uint32_t spec[] = {kPrefillRows, prefill_block_keys(context.info(), max_dim), max_dim};
    const vk::Pipeline& pipeline = context.pipelines().get("attention_prefill", spec, {5, 19 * 4});
    const uint32_t keys = shape.first_position + shape.queries;
    const uint32_t segment = prefill_segment_keys(context.info(), shape);
    // Without segments the state binding is never touched; q stands in for it.
    const bool segmented = segment < keys;
    const AlignedBinding bs = segmented ? align_binding(context, scratch, 4) : bq;
    if (segmented && scratch.size < attention_scratch_bytes(context.info(), shape)) {
      throw Error("attention prefill needs " +
                  std::to_string(attention_scratch_bytes(context.info(), shape)) +
                  " bytes of scratch on this device, got " + std::to_string(scratch.size));
    }
    if (bs.first_element != 0)
      throw Error("attention scratch must be aligned to the binding alignment");
    struct {
      uint32_t queries, first_position, group_size;
      float scale;
      uint32_t head_dim;
      uint32_t q_token_stride, q_head_stride, kv_token_stride, kv_head_stride;
      uint32_t out_token_stride, out_head_stride;
      uint32_t q_first, k_first, v_first, out_first;
      uint32_t key_begin, key_end, resume, finalise;
    } push{shape.queries,
           shape.first_position,
           group,
           scale,
           shape.head_dim,
           shape.q_token_stride,
           shape.q_head_stride,
           shape.kv_token_stride,
           shape.kv_head_stride,
           shape.out_token_stride,
           shape.out_head_stride,
           bq.first_element,
           bk.first_element,
           bv.first_element,
           bo.first_element,
           0,
           0,
           0,
           0};
    const vk::Binding bindings[] = {
        {bq.span, vk::Access::read},
        {bk.span, vk::Access::read},
        {bv.span, vk::Access::read},
        {bo.span, vk::Access::write},
        {bs.span, segmented ? vk::Access::read_write : vk::Access::read}};
    const uint32_t dispatches = segmented ? (keys + segment - 1) / segment : 1;
    for (uint32_t i = 0; i < dispatches; ++i) {
      const uint32_t begin = i * segment;
      push.key_begin = begin;
      push.key_end = segmented ? std::min(keys, begin + segment) : keys;
      push.resume = begin > 0;
      push.finalise = push.key_end == keys;
      stream.dispatch(pipeline, bindings, push_bytes(push),
                      {(shape.queries + kPrefillRows - 1) / kPrefillRows, shape.q_heads, 1},
                      "attention_prefill", {flops / dispatches, bytes / dispatches});
    }
    return;
  }

  const uint32_t splits = splits_for(shape);
  if (scratch.size < attention_scratch_bytes(context.info(), shape)) {
    throw Error("attention decode needs " +
                std::to_string(attention_scratch_bytes(context.info(), shape)) +
                " bytes of scratch, got " + std::to_string(scratch.size));
  }
  const AlignedBinding bs = align_binding(context, scratch, 4);
  if (bs.first_element != 0)
    throw Error("attention scratch must be aligned to the binding alignment");
  const uint32_t decode_spec[] = {kDecodeGroup, kSplitKeys, max_head_dim(shape.head_dim)};
  const vk::Pipeline& decode =
      context.pipelines().get("attention_decode", decode_spec, {4, 11 * 4});
  struct {
    uint32_t keys, splits, group_size;
    float scale;
    uint32_t head_dim, q_head_stride, kv_token_stride, kv_head_stride;
    uint32_t q_first, k_first, v_first;
  } decode_push{shape.first_position + 1,
                splits,
                group,
                scale,
                shape.head_dim,
                shape.q_head_stride,
                shape.kv_token_stride,
                shape.kv_head_stride,
                bq.first_element,
                bk.first_element,
                bv.first_element};
  const vk::Binding decode_bindings[] = {{bq.span, vk::Access::read},
                                         {bk.span, vk::Access::read},
                                         {bv.span, vk::Access::read},
                                         {bs.span, vk::Access::write}};
  stream.dispatch(decode, decode_bindings, push_bytes(decode_push), {splits, shape.q_heads, 1},
                  "attention_decode", {flops, bytes});

  const uint32_t combine_spec[] = {kDecodeGroup};
  const vk::Pipeline& combine = context.pipelines().get("attention_combine", combine_spec, {2, 16});
  const uint32_t combine_push[] = {splits, shape.head_dim, shape.out_head_stride, bo.first_element};
  const vk::Binding combine_bindings[] = {{bs.span, vk::Access::read},
                                          {bo.span, vk::Access::write}};
  stream.dispatch(combine, combine_bindings, std::as_bytes(std::span(combine_push)),
                  {shape.q_heads, 1, 1}, "attention_combine",
                  {0, 4.0 * shape.q_heads * (splits * (shape.head_dim + 2.0) + shape.head_dim)});
}

}  // namespace vkmoe::ops
