// Turning a MultipleChoiceItem into text to score, two ways:
//
// * Answer-label scoring (Laplace-LoRA style): one prompt listing the question and its
//   labelled choices, ending in "Answer:"; the model's next-token logits for the label tokens
//   (" A", " B", ... or " 1", " 2") at the end of the prompt are the class scores.
// * Continuation scoring (lm-evaluation-harness style): one (context, continuation) pair per
//   choice; the score of a choice is the log-likelihood of its continuation given its context.
//   Contexts and continuations follow the harness's task definitions (target delimiter " ").
#pragma once

#include <string>
#include <vector>

#include "loaders/dataset.h"

namespace vkmoe {

struct AnswerLabelPrompt {
  std::string prompt;                     // ends with "Answer:"
  std::vector<std::string> label_tokens;  // " A", " B", ... one per choice, in choice order
};

// ARC / OpenBookQA / MMLU:  "Question: <q>\nChoices:\nA. <c0>\nB. <c1>\n...\nAnswer:"
// BoolQ:                    "<passage>\nQuestion: <q>?\nChoices:\nA. no\nB. yes\nAnswer:"
// WinoGrande:               "Sentence: <s>\nWhich option fills the blank (_)?\nChoices:\n1.
// <o1>\n2. <o2>\nAnswer:" MMLU prompts start with the harness's subject line (see below).
AnswerLabelPrompt answer_label_prompt(const MultipleChoiceItem& item);

struct ContinuationRequest {
  std::string context;
  std::string continuation;  // scored given the context; starts with the " " delimiter
};

// One request per choice, in choice order:
// ARC:        "Question: <q>\nAnswer:"              + " <choice>"
// OpenBookQA: "<question_stem>"                     + " <choice>"
// BoolQ:      "<passage>\nQuestion: <q>?\nAnswer:"  + " no" / " yes"
// WinoGrande: "<sentence up to _><option>"          + " <rest of the sentence, trimmed>"
//             (partial evaluation: the context differs per choice, the continuation does not)
// MMLU:       "The following are multiple choice questions (with answers) about <subject>.\n\n"
//             "<q>\nA. <c0>\nB. <c1>\nC. <c2>\nD. <c3>\nAnswer:" + " A" / " B" / ...
std::vector<ContinuationRequest> continuation_requests(const MultipleChoiceItem& item);

// "abstract_algebra" -> "The following are multiple choice questions (with answers) about
// abstract algebra.\n\n"; empty for an empty subject.
std::string mmlu_description(const std::string& subject);

}  // namespace vkmoe
