#include "engine/ops/topk.h"

#include "engine/ops/launch.h"
#include "engine/ops/row_kernel.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

// Each workgroup ranks 64 columns of one row: the expert counts routers see (60, 64, 160)
// fill one to three groups per row.
constexpr uint32_t kGroupSize = 64;

// Ranking costs cols² comparisons per row, and each invocation loops about cols times: past
// this bound the kernel is the wrong tool (and lavapipe stops loops at 65535 iterations).
constexpr uint32_t kMaxCols = 32768;

}  // namespace

void topk(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan values, vk::BufferSpan indices,
          uint32_t rows, uint32_t cols, uint32_t k) {
  const std::string shape = shape_text(rows, cols) + ", k " + std::to_string(k);
  if (k == 0 || k > cols) throw Error("topk: k must be in [1, cols], got " + shape);
  if (cols > kMaxCols) {
    throw Error("topk: rows of more than " + std::to_string(kMaxCols) +
                " columns are not supported (cost grows as cols²), got " + shape);
  }
  const uint64_t row_bytes = uint64_t{cols} * sizeof(float);
  const uint64_t out_row_bytes = uint64_t{k} * sizeof(float);
  require_bytes("topk", "x", x, rows * row_bytes, shape);
  require_bytes("topk", "values", values, rows * out_row_bytes, shape);
  require_bytes("topk", "indices", indices, rows * out_row_bytes, shape);
  if (values.overlaps(indices) || values.overlaps(x) || indices.overlaps(x)) {
    throw Error("topk: x, values and indices must not overlap (" + shape + ")");
  }
  if (rows == 0) return;

  vk::Context& context = stream.context();
  const uint32_t specialization[] = {kGroupSize};
  const vk::Pipeline& pipeline =
      context.pipelines().get("topk", specialization, {3, 6 * sizeof(uint32_t)});
  const uint64_t batches = (cols + kGroupSize - 1) / kGroupSize;
  // k <= cols, so a chunk's outputs are never larger than its input.
  for_each_chunk(context, rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const AlignedBinding bx =
        align_binding(context, x.sub(first * row_bytes, count * row_bytes), 4);
    const AlignedBinding bv =
        align_binding(context, values.sub(first * out_row_bytes, count * out_row_bytes), 4);
    const AlignedBinding bi =
        align_binding(context, indices.sub(first * out_row_bytes, count * out_row_bytes), 4);
    struct {
      uint32_t rows, cols, k, x_first, values_first, indices_first;
    } push{static_cast<uint32_t>(count),
           cols,
           k,
           bx.first_element,
           bv.first_element,
           bi.first_element};
    const vk::Binding bindings[] = {
        {bx.span, vk::Access::read}, {bv.span, vk::Access::write}, {bi.span, vk::Access::write}};
    const double n = static_cast<double>(count);
    // flops counts the rank comparisons, cols² per row.
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, count * batches, 1),
                    "topk", {n * cols * cols, n * (4.0 * cols + 8.0 * k)});
  });
}

}  // namespace vkmoe::ops
