// What last-layer baselines (engine/bayes/last_layer_laplace.h) need of answer-label items: the
// input of lm_head at the scoring position and the label logits, from one MAP forward per item,
// and the lm_head rows of the label tokens. The logits are the numbers MultipleChoiceScorer
// scores with (same forward, same chunking of the prompt), so a baseline built on them starts
// from exactly the MAP model the table's first row reports.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/eval/choice_tokens.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"

namespace vkmoe::eval {

// What last-layer methods need of one answer-label (kAnswerLabels) item, from one MAP forward:
struct AnswerFeatures {
  std::string id;
  int answer = -1;             // index of the right choice
  std::vector<double> hidden;  // [H] final-norm output at the scoring (last prompt) position:
                               //     the input of lm_head
  std::vector<double> logits;  // [C] MAP label logits (the same numbers MultipleChoiceScorer
                               //     gives as ScoredItem::scores)
  std::vector<TokenId> label_tokens;  // [C] the label token of each choice
};

// One forward per item on the device (no host round trip inside the forward). Throws Error for
// items that are not answer-label items.
std::vector<AnswerFeatures> answer_features(
    vk::Context& context, const model::ModelWeights& weights, std::span<const TokenizedItem> items,
    const std::function<void(std::size_t done)>& progress = {});

// lm_head rows (tied embeddings included) of `tokens` as doubles, [tokens.size() * H] row-major.
std::vector<double> lm_head_rows(vk::Context& context, const model::ModelWeights& weights,
                                 std::span<const TokenId> tokens);

}  // namespace vkmoe::eval
