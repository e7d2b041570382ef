#include "engine/ops/elementwise.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 256;

const char* op_name(ElementwiseOp op) {
  switch (op) {
    case ElementwiseOp::add:
      return "add";
    case ElementwiseOp::mul:
      return "mul";
    case ElementwiseOp::silu:
      return "silu";
    case ElementwiseOp::swiglu:
      return "swiglu";
  }
  return "?";
}

}  // namespace

void elementwise(vk::Stream& stream, ElementwiseOp op, vk::BufferSpan a, vk::BufferSpan b,
                 vk::BufferSpan out, uint64_t count) {
  const uint64_t bytes = count * sizeof(float);
  if (a.size < bytes || b.size < bytes || out.size < bytes) {
    throw Error(std::string("elementwise ") + op_name(op) + ": " + std::to_string(count) +
                " floats do not fit the given spans");
  }
  vk::Context& context = stream.context();
  const uint32_t specialization[] = {kGroupSize, static_cast<uint32_t>(op)};
  const vk::Pipeline& pipeline =
      context.pipelines().get("elementwise", specialization, {3, 4 * sizeof(uint32_t)});
  const bool binary = op != ElementwiseOp::silu;
  for_each_chunk(context, count, sizeof(float), [&](uint64_t first, uint64_t n) {
    const AlignedBinding ba = align_binding(context, a.sub(first * 4, n * 4), 4);
    const AlignedBinding bb = align_binding(context, b.sub(first * 4, n * 4), 4);
    const AlignedBinding bo = align_binding(context, out.sub(first * 4, n * 4), 4);
    struct {
      uint32_t count, a_first, b_first, out_first;
    } push{static_cast<uint32_t>(n), ba.first_element, bb.first_element, bo.first_element};
    const vk::Binding bindings[] = {
        {ba.span, vk::Access::read}, {bb.span, vk::Access::read}, {bo.span, vk::Access::write}};
    const double reads = binary ? 2.0 : 1.0;
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, n, kGroupSize),
                    std::string("elementwise_") + op_name(op),
                    {static_cast<double>(n), static_cast<double>(n) * 4.0 * (reads + 1.0)});
  });
}

}  // namespace vkmoe::ops
