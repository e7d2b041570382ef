#include "engine/eval/answer_features.h"

#include <algorithm>
#include <string>

#include "engine/eval/multiple_choice.h"
#include "engine/model/host_tensor.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"
#include "loaders/quant_blocks.h"

namespace vkmoe::eval {

std::vector<AnswerFeatures> answer_features(vk::Context& context,
                                            const model::ModelWeights& weights,
                                            std::span<const TokenizedItem> items,
                                            const std::function<void(std::size_t done)>& progress) {
  std::size_t most = 1;
  for (const TokenizedItem& item : items) most = std::max(most, item.max_tokens());
  // The scorer's own forward, so the logits are ScoredItem::scores to the bit.
  MultipleChoiceScorer scorer(context, weights, ScoringMethod::kAnswerLabels, most);
  std::vector<AnswerFeatures> out;
  out.reserve(items.size());
  for (const TokenizedItem& item : items) {
    MultipleChoiceScorer::LabelForward f = scorer.label_forward(item);
    AnswerFeatures a;
    a.id = item.id;
    a.answer = item.answer;
    a.hidden.assign(f.hidden.begin(), f.hidden.end());
    a.logits = std::move(f.logits);
    for (const ChoiceTokens& choice : item.choices)
      a.label_tokens.push_back(choice.continuation[0]);
    out.push_back(std::move(a));
    if (progress) progress(out.size());
  }
  return out;
}

std::vector<double> lm_head_rows(vk::Context& context, const model::ModelWeights& weights,
                                 std::span<const TokenId> tokens) {
  const model::DeviceMatrix& head = weights.output();
  const uint64_t row_bytes = ops::dtype_row_bytes(head.type, head.cols);
  std::vector<std::byte> bytes(tokens.size() * row_bytes);
  vk::Stream stream(context);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= head.rows) {
      throw Error("lm_head_rows: token " + std::to_string(tokens[i]) +
                  " is outside the vocabulary (" + std::to_string(head.rows) + " rows)");
    }
    stream.download(head.buffer.span(tokens[i] * row_bytes, row_bytes),
                    bytes.data() + i * row_bytes, row_bytes);
  }
  stream.finish();
  std::vector<float> decoded(tokens.size() * head.cols);
  decode_to_f32(model::stored_type(head.type), bytes, decoded);
  return {decoded.begin(), decoded.end()};
}

}  // namespace vkmoe::eval
