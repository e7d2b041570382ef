#include "engine/ops/broadcast.h"

#include <string>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 256;

void launch(vk::Stream& stream, uint32_t op, const char* name, vk::BufferSpan x, vk::BufferSpan v,
            uint64_t v_count, vk::BufferSpan y, uint32_t rows, uint32_t cols) {
  const uint64_t elements = uint64_t{rows} * cols;
  if (elements == 0) return;
  const uint64_t y_bytes = op == 0 ? v_count * 4 : elements * 4;  // the bias never reads y
  if (x.size < elements * 4 || v.size < v_count * 4 || y.size < y_bytes) {
    throw Error(std::string(name) + " (rows " + std::to_string(rows) + ", cols " +
                std::to_string(cols) + "): a buffer is smaller than the shape needs");
  }
  vk::Context& context = stream.context();
  const AlignedBinding bx = align_binding(context, x.sub(0, elements * 4), 4);
  const AlignedBinding bv = align_binding(context, v.sub(0, v_count * 4), 4);
  const AlignedBinding by = align_binding(context, y.sub(0, y_bytes), 4);
  if (bx.span.size > context.max_binding_range() || by.span.size > context.max_binding_range()) {
    throw Error(std::string(name) + ": the matrix is larger than one binding");
  }
  const uint32_t specialization[] = {kGroupSize, op};
  const vk::Pipeline& pipeline = context.pipelines().get("broadcast", specialization, {3, 20});
  const uint32_t push[] = {rows, cols, bx.first_element, bv.first_element, by.first_element};
  const vk::Binding bindings[] = {
      {bx.span, vk::Access::read_write}, {bv.span, vk::Access::read}, {by.span, vk::Access::read}};
  stream.dispatch(
      pipeline, bindings, std::as_bytes(std::span(push)),
      linear_grid(context, elements, kGroupSize), name,
      {double(elements) * (op == 0 ? 1.0 : 2.0), double(elements) * (op == 0 ? 8.0 : 12.0)});
}

}  // namespace

void add_bias(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan bias, uint32_t rows,
              uint32_t cols) {
  // The bias update never reads y; the bias stands in for that binding.
  launch(stream, 0, "add_bias", x, bias, cols, bias, rows, cols);
}

void add_sigmoid_gated(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan gate, vk::BufferSpan y,
                       uint32_t rows, uint32_t cols) {
  launch(stream, 1, "add_sigmoid_gated", x, gate, rows, y, rows, cols);
}

}  // namespace vkmoe::ops
