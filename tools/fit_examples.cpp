#include "tools/fit_examples.h"

namespace vkmoe::cli {

bayes::FitExample fit_example(const eval::TokenizedItem& item) {
  bayes::FitExample e;
  e.prompt.assign(item.choices.front().context.begin(), item.choices.front().context.end());
  for (const eval::ChoiceTokens& c : item.choices) e.answers.push_back(c.continuation.front());
  e.label = item.answer;
  return e;
}

std::vector<bayes::FitExample> fit_examples(std::span<const eval::TokenizedItem> items) {
  std::vector<bayes::FitExample> examples;
  for (const eval::TokenizedItem& item : items) examples.push_back(fit_example(item));
  return examples;
}

}  // namespace vkmoe::cli
