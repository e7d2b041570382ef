#include "engine/ops/reduce.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void reduce_rows(vk::Stream& stream, RowReduceOp op, vk::BufferSpan x, vk::BufferSpan out,
                 uint32_t rows, uint32_t cols, RowReduction reduction) {
  const char* kernel = op == RowReduceOp::sum ? "row_sums" : "row_maxima";
  const std::string shape = shape_text(rows, cols);
  if (cols == 0) throw Error(std::string(kernel) + ": rows of 0 columns (" + shape + ")");
  const uint64_t row_bytes = uint64_t{cols} * sizeof(float);
  require_bytes(kernel, "x", x, rows * row_bytes, shape);
  require_bytes(kernel, "out", out, uint64_t{rows} * sizeof(float), shape);
  if (rows == 0) return;

  vk::Context& context = stream.context();
  const vk::Pipeline& pipeline =
      row_pipeline(context, "reduce_rows", reduction, cols, {2, 5 * sizeof(uint32_t)});
  for_each_chunk(context, rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const AlignedBinding bx =
        align_binding(context, x.sub(first * row_bytes, count * row_bytes), 4);
    const AlignedBinding bo = align_binding(context, out.sub(first * 4, count * 4), 4);
    struct {
      uint32_t rows, cols, op, x_first, out_first;
    } push{static_cast<uint32_t>(count), cols, static_cast<uint32_t>(op), bx.first_element,
           bo.first_element};
    const vk::Binding bindings[] = {{bx.span, vk::Access::read}, {bo.span, vk::Access::write}};
    const double elements = static_cast<double>(count) * cols;
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, count, 1), kernel,
                    {elements, 4.0 * (elements + static_cast<double>(count))});
  });
}

}  // namespace vkmoe::ops
