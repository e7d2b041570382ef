#include "engine/ops/moe_router.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 64;
constexpr uint32_t kMaxExperts = 1024;  // shared arrays in moe_router.comp

}  // namespace

void moe_router(vk::Stream& stream, vk::BufferSpan logits, vk::BufferSpan weights,
                vk::BufferSpan choices, vk::BufferSpan counts, vk::BufferSpan lists,
                const RouterShape& shape) {
  const std::string what = "moe_router (tokens " + std::to_string(shape.tokens) + ", experts " +
                           std::to_string(shape.experts) + ", top-k " +
                           std::to_string(shape.top_k) + ")";
  if (shape.tokens == 0 || shape.experts == 0 || shape.experts > kMaxExperts) {
    throw Error(what + ": needs 1 to " + std::to_string(kMaxExperts) + " experts and a token");
  }
  if (shape.top_k == 0 || shape.top_k > shape.experts) {
    throw Error(what + ": top-k must be between 1 and the number of experts");
  }
  const uint64_t entries = uint64_t{shape.tokens} * shape.top_k;
  if (logits.size < uint64_t{shape.tokens} * shape.experts * 4 || weights.size < entries * 4 ||
      choices.size < entries * 4 || counts.size < uint64_t{shape.experts} * 4 ||
      lists.size < uint64_t{shape.experts} * shape.tokens * 4) {
    throw Error(what + ": a buffer is smaller than the shape needs");
  }
  for (const vk::BufferSpan* span : {&weights, &choices, &counts, &lists}) {
    if (span->size > stream.context().max_binding_range()) {
      throw Error(what +
                  ": an output is larger than one binding (maxStorageBufferRange); "
                  "route fewer tokens at a time");
    }
  }
  vk::Context& context = stream.context();
  const AlignedBinding bl = align_binding(context, logits, 4);
  if (bl.span.size > context.max_binding_range()) {
    throw Error(what + ": the logits are larger than one binding; route fewer tokens at a time");
  }
  // The outputs are indexed from 0 in the shader: they must start on an aligned offset.
  for (const vk::BufferSpan* span : {&weights, &choices, &counts, &lists}) {
    if (align_binding(context, *span, 4).first_element != 0) {
      throw Error(what + ": outputs must start at a multiple of minStorageBufferOffsetAlignment");
    }
  }
  stream.fill(counts.sub(0, uint64_t{shape.experts} * 4), 0u);
  const uint32_t specialization[] = {kGroupSize};
  const vk::Pipeline& pipeline = context.pipelines().get("moe_router", specialization, {5, 20});
  const uint32_t push[] = {shape.tokens, shape.experts, shape.top_k, shape.renormalise ? 1u : 0u,
                           bl.first_element};
  const vk::Binding bindings[] = {{bl.span, vk::Access::read},
                                  {weights, vk::Access::write},
                                  {choices, vk::Access::write},
                                  {counts, vk::Access::read_write},
                                  {lists, vk::Access::write}};
  const vk::WorkGroups groups = linear_grid(context, shape.tokens, 1);
  stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)), groups, "moe_router",
                  {5.0 * shape.tokens * shape.experts,
                   4.0 * (double(shape.tokens) * shape.experts + 3.0 * double(entries))});
}

}  // namespace vkmoe::ops
