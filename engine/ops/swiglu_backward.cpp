#include "engine/ops/swiglu_backward.h"

#include <string>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 256;

}  // namespace

void swiglu_backward(vk::Stream& stream, const SwigluBackwardArgs& a) {
  const uint64_t bytes = a.count * sizeof(float);
  for (const vk::BufferSpan* span : {&a.gate, &a.up, &a.da, &a.d_gate, &a.d_up}) {
    if (span->size < bytes) {
      throw Error("swiglu_backward: " + std::to_string(a.count) +
                  " floats do not fit the given spans");
    }
  }
  for (const vk::BufferSpan* out : {&a.d_gate, &a.d_up}) {
    if (out->overlaps(a.gate) || out->overlaps(a.up) || out->overlaps(a.da)) {
      throw Error("swiglu_backward: an output overlaps an input");
    }
  }
  if (a.d_gate.overlaps(a.d_up)) throw Error("swiglu_backward: d_gate overlaps d_up");
  if (a.count == 0) return;
  vk::Context& context = stream.context();
  const uint32_t specialization[] = {kGroupSize};
  const vk::Pipeline& pipeline =
      context.pipelines().get("swiglu_backward", specialization, {5, 6 * sizeof(uint32_t)});
  for_each_chunk(context, a.count, sizeof(float), [&](uint64_t first, uint64_t n) {
    const auto piece = [&](const vk::BufferSpan& span) {
      return align_binding(context, span.sub(first * 4, n * 4), 4);
    };
    const AlignedBinding bg = piece(a.gate), bu = piece(a.up), bda = piece(a.da);
    const AlignedBinding bdg = piece(a.d_gate), bdu = piece(a.d_up);
    const uint32_t push[] = {static_cast<uint32_t>(n), bg.first_element,  bu.first_element,
                             bda.first_element,        bdg.first_element, bdu.first_element};
    const vk::Binding bindings[] = {{bg.span, vk::Access::read},
                                    {bu.span, vk::Access::read},
                                    {bda.span, vk::Access::read},
                                    {bdg.span, vk::Access::write},
                                    {bdu.span, vk::Access::write}};
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                    linear_grid(context, n, kGroupSize), "swiglu_backward",
                    {10.0 * double(n), 20.0 * double(n)});
  });
}

}  // namespace vkmoe::ops
