// Scores tokenized multiple-choice items (engine/eval/choice_tokens.h) with a model on the
// device: class scores per choice, and class probabilities as their softmax.
//
// Answer labels: one forward over the prompt; the scores are the last position's logits of the
// C label tokens. Continuation: the context is forwarded once (once per choice when the contexts
// differ, as WinoGrande's do) and its KV cache reused: each choice then forwards its
// continuation minus the last token at the position after the context, overwriting the previous
// choice's positions; the score is the sum of the continuation tokens' log-softmax over the whole
// vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/eval/choice_tokens.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"
#include "engine/vk/context.h"

namespace vkmoe::eval {

struct ScoredItem {
  std::string id;
  int answer = -1;
  int predicted = -1;                 // argmax of the probabilities (the first on ties)
  std::vector<double> scores;         // label logits, or summed continuation log-likelihoods
  std::vector<double> probabilities;  // softmax of the scores
};

class MultipleChoiceScorer {
 public:
  // `max_tokens`: the most positions any item will need (TokenizedItem::max_tokens()); the KV
  // cache is allocated once for it.
  MultipleChoiceScorer(vk::Context& context, const model::ModelWeights& weights,
                       ScoringMethod method, std::size_t max_tokens);

  // Throws Error when the item needs more positions than the cache holds, or for a token
  // outside the model's vocabulary.
  ScoredItem score(const TokenizedItem& item);

  // An answer-label item's one forward: the label logits (ScoredItem::scores) and the
  // final-norm output at the scoring position (lm_head's input, f32 [H]). score() uses it too,
  // so last-layer methods start from the very numbers the MAP row reports. Throws Error for an
  // item whose choices do not share one context or whose continuations are not one token.
  struct LabelForward {
    std::vector<double> logits;  // [C]
    std::vector<float> hidden;   // [H]
  };
  LabelForward label_forward(const TokenizedItem& item);

 private:
  // Feeds `tokens` at `first_position` in chunks; the logits of the last position, or of every
  // position when `all` (rows back to back). `hidden`, when not null, receives the last
  // position's final-norm output.
  std::vector<float> feed(const std::vector<TokenId>& tokens, uint32_t first_position, bool all,
                          std::vector<float>* hidden = nullptr);
  void check_fits(const TokenizedItem& item) const;
  double continuation_log_likelihood(const ChoiceTokens& choice,
                                     const std::vector<float>& context_logits);

  vk::Context& context_;
  const model::ModelWeights& weights_;
  ScoringMethod method_;
  model::KvCache cache_;
};

// Softmax in double; a helper the tests and the scorer share.
std::vector<double> softmax(const std::vector<double>& scores);

}  // namespace vkmoe::eval
