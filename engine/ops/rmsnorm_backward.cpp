#include "engine/ops/rmsnorm_backward.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void rmsnorm_backward(vk::Stream& stream, const RmsNormBackwardArgs& a) {
  const std::string shape = shape_text(a.rows, a.cols);
  if (a.cols == 0) throw Error("rmsnorm_backward: rows of 0 columns (" + shape + ")");
  if (!(a.eps >= 0.0f)) {
    throw Error("rmsnorm_backward: eps must be >= 0, got " + std::to_string(a.eps));
  }
  const uint64_t row_bytes = uint64_t{a.cols} * sizeof(float);
  require_bytes("rmsnorm_backward", "x", a.x, a.rows * row_bytes, shape);
  require_bytes("rmsnorm_backward", "weight", a.weight, row_bytes, shape);
  require_bytes("rmsnorm_backward", "dy", a.dy, a.rows * row_bytes, shape);
  require_bytes("rmsnorm_backward", "dx", a.dx, a.rows * row_bytes, shape);
  if (a.dx.overlaps(a.x) || a.dx.overlaps(a.dy)) {
    throw Error("rmsnorm_backward: dx overlaps x or dy (" + shape + ")");
  }
  if (a.rows == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline =
      row_pipeline(context, "rmsnorm_backward", a.reduction, a.cols, {4, 8 * sizeof(uint32_t)});
  const AlignedBinding bw = align_binding(context, a.weight.sub(0, row_bytes), 4);
  for_each_chunk(context, a.rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const auto rows_of = [&](const vk::BufferSpan& span) {
      return align_binding(context, span.sub(first * row_bytes, count * row_bytes), 4);
    };
    const AlignedBinding bx = rows_of(a.x), bdy = rows_of(a.dy), bdx = rows_of(a.dx);
    struct {
      uint32_t rows, cols;
      float eps;
      uint32_t accumulate, x_first, w_first, dy_first, dx_first;
    } push{static_cast<uint32_t>(count),
           a.cols,
           a.eps,
           a.accumulate ? 1u : 0u,
           bx.first_element,
           bw.first_element,
           bdy.first_element,
           bdx.first_element};
    const vk::Binding bindings[] = {
        {bx.span, vk::Access::read},
        {bw.span, vk::Access::read},
        {bdy.span, vk::Access::read},
        {bdx.span, a.accumulate ? vk::Access::read_write : vk::Access::write}};
    const double elements = static_cast<double>(count) * a.cols;
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, count, 1),
                    "rmsnorm_backward",
                    {8.0 * elements, (a.accumulate ? 16.0 : 12.0) * elements + 4.0 * a.cols});
  });
}

}  // namespace vkmoe::ops
