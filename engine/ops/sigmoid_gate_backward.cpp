#include "engine/ops/sigmoid_gate_backward.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void sigmoid_gate_backward(vk::Stream& stream, const SigmoidGateBackwardArgs& a) {
  const std::string shape = shape_text(a.rows, a.cols);
  if (a.cols == 0) throw Error("sigmoid_gate_backward: rows of 0 columns (" + shape + ")");
  const uint64_t row_bytes = uint64_t{a.cols} * 4;
  require_bytes("sigmoid_gate_backward", "z", a.z, uint64_t{a.rows} * 4, shape);
  require_bytes("sigmoid_gate_backward", "y", a.y, a.rows * row_bytes, shape);
  require_bytes("sigmoid_gate_backward", "d_out", a.d_out, a.rows * row_bytes, shape);
  require_bytes("sigmoid_gate_backward", "dy", a.dy, a.rows * row_bytes, shape);
  require_bytes("sigmoid_gate_backward", "dz", a.dz, uint64_t{a.rows} * 4, shape);
  for (const vk::BufferSpan& out : {a.dy, a.dz}) {
    for (const vk::BufferSpan& in : {a.z, a.y, a.d_out}) {
      if (out.overlaps(in)) throw Error("sigmoid_gate_backward: an output overlaps an input");
    }
  }
  if (a.dy.overlaps(a.dz)) throw Error("sigmoid_gate_backward: dy overlaps dz");
  if (a.rows == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline = row_pipeline(context, "sigmoid_gate_backward", a.reduction, a.cols,
                                              {5, 8 * sizeof(uint32_t)});
  for_each_chunk(context, a.rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const auto piece = [&](const vk::BufferSpan& span, uint64_t unit) {
      return align_binding(context, span.sub(first * unit, count * unit), 4);
    };
    const AlignedBinding bz = piece(a.z, 4), by = piece(a.y, row_bytes);
    const AlignedBinding bo = piece(a.d_out, row_bytes), bdy = piece(a.dy, row_bytes);
    const AlignedBinding bdz = piece(a.dz, 4);
    const uint32_t push[] = {static_cast<uint32_t>(count),
                             a.cols,
                             a.accumulate ? 1u : 0u,
                             bz.first_element,
                             by.first_element,
                             bo.first_element,
                             bdy.first_element,
                             bdz.first_element};
    const vk::Binding bindings[] = {
        {bz.span, vk::Access::read},
        {by.span, vk::Access::read},
        {bo.span, vk::Access::read},
        {bdy.span, a.accumulate ? vk::Access::read_write : vk::Access::write},
        {bdz.span, vk::Access::write}};
    const double elements = double(count) * a.cols;
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                    linear_grid(context, count, 1), "sigmoid_gate_backward",
                    {3.0 * elements, 4.0 * (a.accumulate ? 4.0 : 3.0) * elements});
  });
}

}  // namespace vkmoe::ops
