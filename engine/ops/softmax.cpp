#include "engine/ops/softmax.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void softmax(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan out, uint32_t rows, uint32_t cols,
             SoftmaxOptions options) {
  const std::string shape = shape_text(rows, cols);
  if (cols == 0) throw Error("softmax: rows of 0 columns (" + shape + ")");
  const uint64_t row_bytes = uint64_t{cols} * sizeof(float);
  require_bytes("softmax", "x", x, rows * row_bytes, shape);
  require_bytes("softmax", "out", out, rows * row_bytes, shape);
  require_in_place_or_disjoint("softmax", x, out);
  if (rows == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline =
      row_pipeline(context, "softmax", options.reduction, cols, {2, 5 * sizeof(uint32_t)});
  for_each_chunk(context, rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const vk::BufferSpan rows_in = x.sub(first * row_bytes, count * row_bytes);
    const vk::BufferSpan rows_out = out.sub(first * row_bytes, count * row_bytes);
    const AlignedBinding bx = align_binding(context, rows_in, 4);
    const AlignedBinding bo = align_binding(context, rows_out, 4);
    struct {
      uint32_t rows, cols;
      float scale;
      uint32_t x_first, out_first;
    } push{static_cast<uint32_t>(count), cols, options.scale, bx.first_element, bo.first_element};
    const vk::Binding bindings[] = {{bx.span, vk::Access::read}, {bo.span, vk::Access::write}};
    const double elements = static_cast<double>(count) * cols;
    // max, scale, subtract, exp, sum, multiply: about 6 operations per element.
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, count, 1), "softmax",
                    {6.0 * elements, 8.0 * elements});
  });
}

}  // namespace vkmoe::ops
