#include "engine/ops/choice_loss_backward.h"

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

void choice_loss_backward(vk::Stream& stream, const ChoiceLossBackwardArgs& a) {
  const std::string shape =
      shape_text(a.rows, a.vocab) + ", " + std::to_string(a.choices) + " answers";
  vk::Context& context = stream.context();
  if (a.vocab == 0 || a.choices == 0 || a.choices > a.vocab ||
      a.choices > row_group_size(context, a.vocab)) {
    throw Error("choice_loss_backward: needs 0 < answers <= min(vocabulary, " +
                std::to_string(row_group_size(context, a.vocab)) + ") (" + shape + ")");
  }
  const uint64_t row_bytes = uint64_t{a.vocab} * 4, target_bytes = uint64_t{a.choices} * 4;
  require_bytes("choice_loss_backward", "logits", a.logits, a.rows * row_bytes, shape);
  require_bytes("choice_loss_backward", "answers", a.answers, target_bytes, shape);
  require_bytes("choice_loss_backward", "targets", a.targets, a.rows * target_bytes, shape);
  require_bytes("choice_loss_backward", "d_logits", a.d_logits, a.rows * row_bytes, shape);
  for (const vk::BufferSpan& in : {a.logits, a.answers, a.targets}) {
    if (a.d_logits.overlaps(in)) throw Error("choice_loss_backward: d_logits overlaps an input");
  }
  if (a.rows == 0) return;

  const vk::Pipeline& pipeline = row_pipeline(context, "choice_loss_backward", a.reduction, a.vocab,
                                              {4, 7 * sizeof(uint32_t)});
  const AlignedBinding bi = align_binding(context, a.answers.sub(0, target_bytes), 4);
  for_each_chunk(context, a.rows, row_bytes, [&](uint64_t first, uint64_t count) {
    const auto piece = [&](const vk::BufferSpan& span, uint64_t unit) {
      return align_binding(context, span.sub(first * unit, count * unit), 4);
    };
    const AlignedBinding bl = piece(a.logits, row_bytes), bt = piece(a.targets, target_bytes);
    const AlignedBinding bd = piece(a.d_logits, row_bytes);
    const uint32_t push[] = {static_cast<uint32_t>(count),
                             a.vocab,
                             a.choices,
                             bl.first_element,
                             bi.first_element,
                             bt.first_element,
                             bd.first_element};
    const vk::Binding bindings[] = {{bl.span, vk::Access::read},
                                    {bi.span, vk::Access::read},
                                    {bt.span, vk::Access::read},
                                    {bd.span, vk::Access::write}};
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                    linear_grid(context, count, 1), "choice_loss_backward",
                    {8.0 * double(count) * a.choices, 4.0 * double(count) * a.vocab});
  });
}

}  // namespace vkmoe::ops
