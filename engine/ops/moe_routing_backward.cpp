#include "engine/ops/moe_routing_backward.h"

#include <initializer_list>
#include <string>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

void require_disjoint(std::string_view kernel, std::initializer_list<vk::BufferSpan> outputs,
                      std::initializer_list<vk::BufferSpan> inputs) {
  for (const vk::BufferSpan& out : outputs) {
    for (const vk::BufferSpan& in : inputs) {
      if (out.overlaps(in)) throw Error(std::string(kernel) + ": an output overlaps an input");
    }
  }
}

}  // namespace

void moe_combine_backward(vk::Stream& stream, const MoeCombineBackwardArgs& a) {
  const std::string shape = "tokens " + std::to_string(a.tokens) + ", columns " +
                            std::to_string(a.columns) + ", top-k " + std::to_string(a.top_k);
  if (a.columns == 0 || a.top_k == 0) {
    throw Error("moe_combine_backward: columns and top-k must be positive (" + shape + ")");
  }
  const uint64_t k = a.top_k, t = a.tokens, row = uint64_t{a.columns} * 4;
  require_bytes("moe_combine_backward", "y", a.y, t * k * row, shape);
  require_bytes("moe_combine_backward", "weights", a.weights, t * k * 4, shape);
  require_bytes("moe_combine_backward", "d_out", a.d_out, t * row, shape);
  require_bytes("moe_combine_backward", "dy", a.dy, t * k * row, shape);
  require_bytes("moe_combine_backward", "d_weights", a.d_weights, t * k * 4, shape);
  require_disjoint("moe_combine_backward", {a.dy, a.d_weights}, {a.y, a.weights, a.d_out});
  if (a.dy.overlaps(a.d_weights)) throw Error("moe_combine_backward: dy overlaps d_weights");
  if (a.tokens == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline = row_pipeline(context, "moe_combine_backward", a.reduction,
                                              a.columns, {5, 8 * sizeof(uint32_t)});
  // A token's k expert rows are the unit of a chunk.
  for_each_chunk(context, t, k * row, [&](uint64_t first, uint64_t count) {
    const auto piece = [&](const vk::BufferSpan& span, uint64_t unit) {
      return align_binding(context, span.sub(first * unit, count * unit), 4);
    };
    const AlignedBinding by = piece(a.y, k * row), bw = piece(a.weights, k * 4);
    const AlignedBinding bo = piece(a.d_out, row), bdy = piece(a.dy, k * row);
    const AlignedBinding bdw = piece(a.d_weights, k * 4);
    const uint32_t entries = static_cast<uint32_t>(count * k);
    const uint32_t push[] = {entries,           a.columns,        a.top_k,
                             by.first_element,  bw.first_element, bo.first_element,
                             bdy.first_element, bdw.first_element};
    const vk::Binding bindings[] = {{by.span, vk::Access::read},
                                    {bw.span, vk::Access::read},
                                    {bo.span, vk::Access::read},
                                    {bdy.span, vk::Access::write},
                                    {bdw.span, vk::Access::write}};
    const double elements = double(entries) * a.columns;
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                    linear_grid(context, entries, 1), "moe_combine_backward",
                    {3.0 * elements, 4.0 * (3.0 * elements + double(count) * a.columns)});
  });
}

void moe_router_backward(vk::Stream& stream, const MoeRouterBackwardArgs& a) {
  const std::string shape = "tokens " + std::to_string(a.tokens) + ", experts " +
                            std::to_string(a.experts) + ", top-k " + std::to_string(a.top_k);
  if (a.experts == 0 || a.top_k == 0 || a.top_k > a.experts) {
    throw Error("moe_router_backward: needs 0 < top-k <= experts (" + shape + ")");
  }
  const uint64_t t = a.tokens, row = uint64_t{a.experts} * 4, k = a.top_k;
  require_bytes("moe_router_backward", "logits", a.logits, t * row, shape);
  require_bytes("moe_router_backward", "choices", a.choices, t * k * 4, shape);
  require_bytes("moe_router_backward", "d_weights", a.d_weights, t * k * 4, shape);
  require_bytes("moe_router_backward", "d_logits", a.d_logits, t * row, shape);
  require_disjoint("moe_router_backward", {a.d_logits}, {a.logits, a.choices, a.d_weights});
  if (a.tokens == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline = row_pipeline(context, "moe_router_backward", a.reduction,
                                              a.experts, {4, 8 * sizeof(uint32_t)});
  for_each_chunk(context, t, std::max(row, k * 4), [&](uint64_t first, uint64_t count) {
    const auto piece = [&](const vk::BufferSpan& span, uint64_t unit) {
      return align_binding(context, span.sub(first * unit, count * unit), 4);
    };
    const AlignedBinding bl = piece(a.logits, row), bc = piece(a.choices, k * 4);
    const AlignedBinding bdw = piece(a.d_weights, k * 4), bdl = piece(a.d_logits, row);
    const uint32_t push[] = {static_cast<uint32_t>(count),
                             a.experts,
                             a.top_k,
                             a.renormalise ? 1u : 0u,
                             bl.first_element,
                             bc.first_element,
                             bdw.first_element,
                             bdl.first_element};
    const vk::Binding bindings[] = {{bl.span, vk::Access::read},
                                    {bc.span, vk::Access::read},
                                    {bdw.span, vk::Access::read},
                                    {bdl.span, vk::Access::write}};
    const double elements = double(count) * a.experts;
    stream.dispatch(
        pipeline, bindings, std::as_bytes(std::span(push)), linear_grid(context, count, 1),
        "moe_router_backward",
        {(6.0 + 2.0 * a.top_k) * elements, 8.0 * elements + 12.0 * double(count) * a.top_k});
  });
}

}  // namespace vkmoe::ops
