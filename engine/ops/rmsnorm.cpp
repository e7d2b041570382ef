#include "engine/ops/rmsnorm.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void rmsnorm(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan weight, vk::BufferSpan out,
             uint32_t rows, uint32_t cols, float eps, RowReduction reduction) {
  const std::string shape = shape_text(rows, cols);
  if (cols == 0) throw Error("rmsnorm: rows of 0 columns (" + shape + ")");
  if (!(eps >= 0.0f)) throw Error("rmsnorm: eps must be >= 0, got " + std::to_string(eps));
  const uint64_t row_bytes = uint64_t{cols} * sizeof(float);
  require_bytes("rmsnorm", "x", x, rows * row_bytes, shape);
  require_bytes("rmsnorm", "weight", weight, row_bytes, shape);
  require_bytes("rmsnorm", "out", out, rows * row_bytes, shape);
  require_in_place_or_disjoint("rmsnorm", x, out);
  if (rows == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline =
      row_pipeline(context, "rmsnorm", reduction, cols, {3, 6 * sizeof(uint32_t)});
  const AlignedBinding bw = align_binding(context, weight.sub(0, row_bytes), 4);
  for_each_chunk(context, rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const vk::BufferSpan rows_in = x.sub(first * row_bytes, count * row_bytes);
    const vk::BufferSpan rows_out = out.sub(first * row_bytes, count * row_bytes);
    const AlignedBinding bx = align_binding(context, rows_in, 4);
    const AlignedBinding bo = align_binding(context, rows_out, 4);
    struct {
      uint32_t rows, cols;
      float eps;
      uint32_t x_first, w_first, out_first;
    } push{static_cast<uint32_t>(count),
           cols,
           eps,
           bx.first_element,
           bw.first_element,
           bo.first_element};
    const vk::Binding bindings[] = {
        {bx.span, vk::Access::read}, {bw.span, vk::Access::read}, {bo.span, vk::Access::write}};
    const double elements = static_cast<double>(count) * cols;
    // square, add, then normalise and weight: 4 operations per element.
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, count, 1), "rmsnorm",
                    {4.0 * elements, 8.0 * elements + 4.0 * cols});
  });
}

}  // namespace vkmoe::ops
