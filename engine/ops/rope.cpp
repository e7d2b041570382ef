#include "engine/ops/rope.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 256;

std::string shape_text(const RopeShape& s) {
  return std::to_string(s.tokens) + "x" + std::to_string(s.heads) + "x" +
         std::to_string(s.head_dim) + " (rotary_dim " + std::to_string(s.rotary_dim) + ")";
}

RopeTensor with_default_strides(RopeTensor t, const RopeShape& s) {
  if (t.head_stride == 0) t.head_stride = s.head_dim;
  if (t.token_stride == 0) t.token_stride = s.heads * t.head_stride;
  return t;
}

// Floats from element [0, 0, 0] to the end of the last head of one token.
uint64_t token_extent(const RopeTensor& t, const RopeShape& s) {
  return uint64_t{s.heads - 1} * t.head_stride + s.head_dim;
}

// Floats from element [0, 0, 0] to the end of element [tokens - 1, heads - 1, head_dim - 1].
uint64_t extent(const RopeTensor& t, const RopeShape& s, uint64_t tokens) {
  return (tokens - 1) * t.token_stride + token_extent(t, s);
}

void check_tensor(const char* what, const RopeTensor& t, const RopeShape& s) {
  if (t.head_stride < s.head_dim) {
    throw Error(std::string("rope: ") + what + " head stride " + std::to_string(t.head_stride) +
                " is less than head_dim for " + shape_text(s));
  }
  if (s.tokens > 1 && t.token_stride < token_extent(t, s)) {
    throw Error(std::string("rope: ") + what + " token stride " + std::to_string(t.token_stride) +
                " overlaps the heads of the next token for " + shape_text(s));
  }
  const uint64_t bytes = extent(t, s, s.tokens) * sizeof(float);
  if (t.span.size < bytes) {
    throw Error(std::string("rope: ") + what + " holds " + std::to_string(t.span.size) +
                " bytes, needs " + std::to_string(bytes) + " for " + shape_text(s));
  }
}

// The shape with rotary_dim resolved, after checking everything the kernel relies on.
RopeShape checked_shape(const RopeShape& requested, const RopeTensor& x, const RopeTensor& out,
                        const vk::BufferSpan& positions, const vk::BufferSpan& inv_freq,
                        bool in_place) {
  RopeShape s = requested;
  if (s.rotary_dim == 0) s.rotary_dim = s.head_dim;
  if (s.head_dim == 0 || s.heads == 0 || s.rotary_dim % 2 || s.rotary_dim > s.head_dim) {
    throw Error("rope: rotary_dim must be even and at most head_dim, with heads and head_dim " +
                std::string("positive; got ") + shape_text(s));
  }
  if (s.tokens == 0) return s;
  check_tensor("x", x, s);
  check_tensor("out", out, s);
  if (positions.size < uint64_t{s.tokens} * 4) {
    throw Error("rope: positions hold " + std::to_string(positions.size / 4) + " uint32, need " +
                std::to_string(s.tokens) + " for " + shape_text(s));
  }
  if (inv_freq.size < uint64_t{s.rotary_dim / 2} * 4) {
    throw Error("rope: inv_freq holds " + std::to_string(inv_freq.size / 4) + " floats, needs " +
                std::to_string(s.rotary_dim / 2) + " for " + shape_text(s));
  }
  if (in_place ? (x.token_stride != out.token_stride || x.head_stride != out.head_stride)
               : x.span.overlaps(out.span)) {
    throw Error("rope: out overlaps x without being the same view; pass the same tensor to " +
                std::string("run in place, or disjoint ones"));
  }
  return s;
}

struct RopePush {
  uint32_t tokens, heads, head_dim, rotary_dim;
  uint32_t x_token_stride, x_head_stride, out_token_stride, out_head_stride;
  uint32_t x_first, positions_first, inv_freq_first, out_first;
  uint32_t copy_tail;  // 0 in place: the passed-through elements are already there
  uint32_t inverse;    // 1: rotate by −angle (the backward)
};

}  // namespace

std::vector<float> rope_inv_freq(float theta, uint32_t rotary_dim) {
  std::vector<float> inv_freq(rotary_dim / 2);
  for (uint32_t i = 0; i < inv_freq.size(); ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    inv_freq[i] = 1.0f / std::pow(theta, exponent);
  }
  return inv_freq;
}

void rope(vk::Stream& stream, const RopeShape& requested, const RopeTensor& x_view,
          vk::BufferSpan positions, vk::BufferSpan inv_freq, const RopeTensor& out_view,
          RopeDirection direction) {
  const RopeTensor x = with_default_strides(x_view, requested);
  const RopeTensor out = with_default_strides(out_view, requested);
  const bool in_place = x.span.buffer == out.span.buffer && x.span.offset == out.span.offset;
  const RopeShape s = checked_shape(requested, x, out, positions, inv_freq, in_place);
  if (s.tokens == 0) return;

  vk::Context& context = stream.context();
  const uint32_t specialization[] = {kGroupSize};
  const vk::Pipeline& pipeline =
      context.pipelines().get("rope", specialization, {4, sizeof(RopePush)});
  const uint32_t half_rotary = s.rotary_dim / 2;
  const AlignedBinding bf = align_binding(context, inv_freq.sub(0, uint64_t{half_rotary} * 4), 4);
  // Each invocation rotates one pair or copies one passed-through element.
  const uint64_t items_per_head = s.head_dim - half_rotary;
  const uint64_t token_floats = std::max<uint64_t>(
      {x.token_stride, out.token_stride, token_extent(x, s), token_extent(out, s)});
  for_each_chunk(context, s.tokens, token_floats * 4, [&](uint64_t first, uint64_t count) {
    const auto view = [&](const RopeTensor& t) {
      const uint64_t offset = first * t.token_stride * 4;
      return align_binding(context, t.span.sub(offset, extent(t, s, count) * 4), 4);
    };
    const AlignedBinding bx = view(x);
    const AlignedBinding bo = view(out);
    const AlignedBinding bp = align_binding(context, positions.sub(first * 4, count * 4), 4);
    RopePush push;
    push.tokens = static_cast<uint32_t>(count);
    push.heads = s.heads;
    push.head_dim = s.head_dim;
    push.rotary_dim = s.rotary_dim;
    push.x_token_stride = x.token_stride;
    push.x_head_stride = x.head_stride;
    push.out_token_stride = out.token_stride;
    push.out_head_stride = out.head_stride;
    push.x_first = bx.first_element;
    push.positions_first = bp.first_element;
    push.inv_freq_first = bf.first_element;
    push.out_first = bo.first_element;
    push.copy_tail = in_place ? 0 : 1;
    push.inverse = direction == RopeDirection::inverse ? 1 : 0;
    const vk::Binding bindings[] = {{bx.span, vk::Access::read},
                                    {bp.span, vk::Access::read},
                                    {bf.span, vk::Access::read},
                                    {bo.span, vk::Access::write}};
    const double elements = static_cast<double>(count) * s.heads * s.head_dim;
    const double pairs = static_cast<double>(count) * s.heads * half_rotary;
    // Per pair: angle, range reduction and two polynomials (~25), the rotation (6).
    stream.dispatch(pipeline, bindings, push_bytes(push),
                    linear_grid(context, count * s.heads * items_per_head, kGroupSize),
                    direction == RopeDirection::inverse ? "rope_backward" : "rope",
                    {31.0 * pairs, 8.0 * elements + 4.0 * static_cast<double>(count)});
  });
}

}  // namespace vkmoe::ops
