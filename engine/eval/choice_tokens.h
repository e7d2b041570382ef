// A multiple-choice item as the token ids that get scored, one (context, continuation) pair per
// choice, for either way of scoring (loaders/prompt_template.h builds the texts):
//
// * kAnswerLabels: every choice shares the prompt as its context; its continuation is its one
//   label token (" A", " B", ...). The class score is that token's logit after the prompt.
// * kContinuation: the harness's (context, continuation) texts, encoded separately and
//   concatenated. The class score is Σ log p(continuation token | everything before it).
//
// Contexts are encoded with the tokenizer's special tokens (DeepSeek's BOS), continuations
// without. Tokenizing is host work done for a whole data set before any forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loaders/dataset.h"
#include "loaders/tokenizer.h"

namespace vkmoe::eval {

enum class ScoringMethod { kAnswerLabels, kContinuation };

// "labels" / "continuation"; throws Error for anything else.
ScoringMethod scoring_method_from_name(const std::string& name);
const char* scoring_method_name(ScoringMethod method);

struct ChoiceTokens {
  std::vector<TokenId> context;       // never empty
  std::vector<TokenId> continuation;  // never empty; exactly one token for kAnswerLabels
};

struct TokenizedItem {
  std::string id;
  int answer = -1;
  std::vector<ChoiceTokens> choices;  // in choice order
  // Whether every choice has the same context, so one forward of it serves them all.
  bool shared_context() const;
  // Positions the longest choice occupies: what the KV cache must hold.
  std::size_t max_tokens() const;
};

// Throws Error naming the item when it has no answer (answer = -1: a test split cannot be
// scored), when a label does not encode to exactly one token (naming the label and the tokens it
// became), or when a context or continuation encodes to no tokens.
TokenizedItem tokenize_item(const MultipleChoiceItem& item, const Tokenizer& tokenizer,
                            ScoringMethod method);

}  // namespace vkmoe::eval
