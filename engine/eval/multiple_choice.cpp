#include "engine/eval/multiple_choice.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "engine/eval/metrics.h"
#include "engine/model/forward.h"
#include "engine/vk/error.h"

namespace vkmoe::eval {
namespace {

// Tokens per forward: bounds the activations held at once, as `vkmoe logits` does.
constexpr std::size_t kChunk = 256;

// log Σ exp over one row of logits, in double.
double log_sum_exp(std::span<const float> row) {
  const float top = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v) - static_cast<double>(top));
  return static_cast<double>(top) + std::log(sum);
}

}  // namespace

std::vector<double> softmax(const std::vector<double>& scores) {
  const double top = *std::max_element(scores.begin(), scores.end());
  std::vector<double> p(scores.size());
  double sum = 0;
  for (std::size_t c = 0; c < scores.size(); ++c) sum += p[c] = std::exp(scores[c] - top);
  for (double& v : p) v /= sum;
  return p;
}

MultipleChoiceScorer::MultipleChoiceScorer(vk::Context& context, const model::ModelWeights& weights,
                                           ScoringMethod method, std::size_t max_tokens)
    : context_(context),
      weights_(weights),
      method_(method),
      cache_(context, weights.config, static_cast<uint32_t>(std::max<std::size_t>(max_tokens, 1))) {
}

std::vector<float> MultipleChoiceScorer::feed(const std::vector<TokenId>& tokens,
                                              uint32_t first_position, bool all,
                                              std::vector<float>* hidden) {
  std::vector<float> logits;
  for (std::size_t at = 0; at < tokens.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, tokens.size() - at);
    const bool last_chunk = at + n == tokens.size();
    model::ForwardRequest request{std::span(tokens).subspan(at, n),
                                  first_position + static_cast<uint32_t>(at),
                                  all ? model::LogitsFor::kAll : model::LogitsFor::kLast};
    std::vector<float> part;
    if (hidden != nullptr && last_chunk && !all) {
      model::ForwardOutput o = model::forward_with_hidden(context_, weights_, cache_, request);
      part = std::move(o.logits);
      *hidden = std::move(o.final_hidden);
    } else {
      part = model::forward(context_, weights_, cache_, request);
    }
    if (all || last_chunk) logits.insert(logits.end(), part.begin(), part.end());
  }
  return logits;
}

double MultipleChoiceScorer::continuation_log_likelihood(const ChoiceTokens& choice,
                                                         const std::vector<float>& context_logits) {
  const auto vocab = static_cast<std::size_t>(weights_.config.vocab_size);
  const std::vector<TokenId>& tokens = choice.continuation;
  // Row t predicts continuation token t: row 0 is the context's last position, rows 1.. come
  // from forwarding the continuation without its last token right after the context.
  std::vector<float> later;
  if (tokens.size() > 1) {
    const std::vector<TokenId> inputs(tokens.begin(), tokens.end() - 1);
    later = feed(inputs, static_cast<uint32_t>(choice.context.size()), true);
  }
  double sum = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const std::span<const float> row =
        t == 0 ? std::span<const float>(context_logits)
               : std::span<const float>(later).subspan((t - 1) * vocab, vocab);
    sum += static_cast<double>(row[tokens[t]]) - log_sum_exp(row);
  }
  return sum;
}

void MultipleChoiceScorer::check_fits(const TokenizedItem& item) const {
  if (item.choices.empty()) throw Error("item '" + item.id + "' has no choices");
  if (item.max_tokens() > cache_.capacity()) {
    throw Error("item '" + item.id + "' needs " + std::to_string(item.max_tokens()) +
                " positions but the scorer's KV cache holds " + std::to_string(cache_.capacity()));
  }
}

MultipleChoiceScorer::LabelForward MultipleChoiceScorer::label_forward(const TokenizedItem& item) {
  check_fits(item);
  const bool one_token =
      std::all_of(item.choices.begin(), item.choices.end(),
                  [](const ChoiceTokens& c) { return c.continuation.size() == 1; });
  if (!item.shared_context() || !one_token) {
    throw Error("item '" + item.id +
                "' is not an answer-label item (its choices need one shared prompt and one label "
                "token each)");
  }
  LabelForward out;
  const std::vector<float> logits = feed(item.choices.front().context, 0, false, &out.hidden);
  for (const ChoiceTokens& choice : item.choices) {
    const TokenId label = choice.continuation.front();
    if (label >= logits.size()) {
      throw Error("item '" + item.id + "': label token " + std::to_string(label) +
                  " is outside the vocabulary (" + std::to_string(logits.size()) + ")");
    }
    out.logits.push_back(static_cast<double>(logits[label]));
  }
  return out;
}

ScoredItem MultipleChoiceScorer::score(const TokenizedItem& item) {
  check_fits(item);
  ScoredItem out;
  out.id = item.id;
  out.answer = item.answer;
  if (method_ == ScoringMethod::kAnswerLabels) {
    out.scores = label_forward(item).logits;
  } else {
    const bool shared = item.shared_context();
    std::vector<float> context_logits;
    for (std::size_t c = 0; c < item.choices.size(); ++c) {
      const ChoiceTokens& choice = item.choices[c];
      if (c == 0 || !shared) context_logits = feed(choice.context, 0, false);
      out.scores.push_back(continuation_log_likelihood(choice, context_logits));
    }
  }
  out.probabilities = softmax(out.scores);
  out.predicted = static_cast<int>(predicted_class(out.probabilities));
  return out;
}

}  // namespace vkmoe::eval
