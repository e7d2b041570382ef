#include "engine/eval/choice_tokens.h"

#include <algorithm>

#include "engine/vk/error.h"
#include "loaders/prompt_template.h"

namespace vkmoe::eval {
namespace {

// "[1234 \"Ġ1\", 17 \"2\"]": the ids and their vocabulary spellings, for messages.
std::string describe_tokens(const std::vector<TokenId>& ids, const Tokenizer& tokenizer) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(ids[i]) + " \"" + tokenizer.id_to_token(ids[i]).value_or("?") + "\"";
  }
  return out + "]";
}

std::vector<TokenId> encode_nonempty(const Tokenizer& tokenizer, const std::string& text,
                                     SpecialTokens special, const std::string& where) {
  std::vector<TokenId> ids = tokenizer.encode(text, special);
  if (ids.empty()) throw Error(where + ": \"" + text + "\" encodes to no tokens");
  return ids;
}

}  // namespace

ScoringMethod scoring_method_from_name(const std::string& name) {
  if (name == "labels") return ScoringMethod::kAnswerLabels;
  if (name == "continuation") return ScoringMethod::kContinuation;
  throw Error("unknown scoring method '" + name + "' (labels or continuation)");
}

const char* scoring_method_name(ScoringMethod method) {
  return method == ScoringMethod::kAnswerLabels ? "labels" : "continuation";
}

bool TokenizedItem::shared_context() const {
  return std::all_of(choices.begin(), choices.end(),
                     [&](const ChoiceTokens& c) { return c.context == choices.front().context; });
}

std::size_t TokenizedItem::max_tokens() const {
  std::size_t most = 0;
  for (const ChoiceTokens& c : choices) {
    most = std::max(most, c.context.size() + c.continuation.size());
  }
  return most;
}

TokenizedItem tokenize_item(const MultipleChoiceItem& item, const Tokenizer& tokenizer,
                            ScoringMethod method) {
  const std::string where =
      std::string(dataset_format_name(item.format)) + " item '" + item.id + "'";
  if (item.answer < 0) {
    throw Error(where + " has no answer (an unlabelled split cannot be scored)");
  }
  TokenizedItem out;
  out.id = item.id;
  out.answer = item.answer;
  if (method == ScoringMethod::kAnswerLabels) {
    const AnswerLabelPrompt prompt = answer_label_prompt(item);
    const std::vector<TokenId> context =
        encode_nonempty(tokenizer, prompt.prompt, SpecialTokens::kAdd, where + ": prompt");
    for (const std::string& label : prompt.label_tokens) {
      std::vector<TokenId> ids = tokenizer.encode(label);
      if (ids.size() != 1) {
        throw Error(where + ": answer label \"" + label + "\" encodes to " +
                    std::to_string(ids.size()) + " tokens " + describe_tokens(ids, tokenizer) +
                    ", but answer-label scoring needs exactly one (score by continuation instead)");
      }
      out.choices.push_back({context, std::move(ids)});
    }
    return out;
  }
  for (const ContinuationRequest& request : continuation_requests(item)) {
    out.choices.push_back(
        {encode_nonempty(tokenizer, request.context, SpecialTokens::kAdd, where + ": context"),
         encode_nonempty(tokenizer, request.continuation, SpecialTokens::kLeaveOut,
                         where + ": continuation")});
  }
  return out;
}

}  // namespace vkmoe::eval
