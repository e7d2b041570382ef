#include "engine/ops/softmax_backward.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void softmax_backward(vk::Stream& stream, const SoftmaxBackwardArgs& a) {
  const std::string shape = shape_text(a.rows, a.cols);
  if (a.cols == 0) throw Error("softmax_backward: rows of 0 columns (" + shape + ")");
  const uint64_t row_bytes = uint64_t{a.cols} * sizeof(float);
  require_bytes("softmax_backward", "probabilities", a.probabilities, a.rows * row_bytes, shape);
  require_bytes("softmax_backward", "dp", a.dp, a.rows * row_bytes, shape);
  require_bytes("softmax_backward", "dx", a.dx, a.rows * row_bytes, shape);
  if (a.dx.overlaps(a.probabilities) || a.dx.overlaps(a.dp)) {
    throw Error("softmax_backward: dx overlaps the probabilities or dp (" + shape + ")");
  }
  if (a.rows == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline =
      row_pipeline(context, "softmax_backward", a.reduction, a.cols, {3, 6 * sizeof(uint32_t)});
  for_each_chunk(context, a.rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const auto rows_of = [&](const vk::BufferSpan& span) {
      return align_binding(context, span.sub(first * row_bytes, count * row_bytes), 4);
    };
    const AlignedBinding bp = rows_of(a.probabilities), bdp = rows_of(a.dp), bdx = rows_of(a.dx);
    const uint32_t push[] = {static_cast<uint32_t>(count),
                             a.cols,
                             a.accumulate ? 1u : 0u,
                             bp.first_element,
                             bdp.first_element,
                             bdx.first_element};
    const vk::Binding bindings[] = {
        {bp.span, vk::Access::read},
        {bdp.span, vk::Access::read},
        {bdx.span, a.accumulate ? vk::Access::read_write : vk::Access::write}};
    const double elements = static_cast<double>(count) * a.cols;
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                    linear_grid(context, count, 1), "softmax_backward",
                    {4.0 * elements, (a.accumulate ? 16.0 : 12.0) * elements});
  });
}

}  // namespace vkmoe::ops
