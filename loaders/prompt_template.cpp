#include "loaders/prompt_template.h"

#include <algorithm>

namespace vkmoe {
namespace {

std::string trim(const std::string& s) {
  const char* space = " \t\n\r\f\v";
  const std::size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

std::string listed_choices(const MultipleChoiceItem& item) {
  std::string out;
  for (std::size_t i = 0; i < item.choices.size(); ++i)
    out += item.labels[i] + ". " + item.choices[i] + "\n";
  return out;
}

// The harness's MMLU question block: the question, A.-D. choices, "Answer:".
std::string mmlu_question(const MultipleChoiceItem& item) {
  return mmlu_description(item.context) + trim(item.question) + "\n" + listed_choices(item) +
         "Answer:";
}

}  // namespace

std::string mmlu_description(const std::string& subject) {
  if (subject.empty()) return {};
  std::string words = subject;
  std::replace(words.begin(), words.end(), '_', ' ');
  return "The following are multiple choice questions (with answers) about " + words + ".\n\n";
}

AnswerLabelPrompt answer_label_prompt(const MultipleChoiceItem& item) {
  AnswerLabelPrompt out;
  switch (item.format) {
    case DatasetFormat::kArc:
    case DatasetFormat::kOpenBookQa:
      out.prompt = "Question: " + item.question + "\nChoices:\n" + listed_choices(item) + "Answer:";
      break;
    case DatasetFormat::kBoolQ:
      out.prompt = item.context + "\nQuestion: " + item.question + "?\nChoices:\n" +
                   listed_choices(item) + "Answer:";
      break;
    case DatasetFormat::kWinoGrande:
      out.prompt = "Sentence: " + item.question +
                   "\nWhich option fills the blank (_)?\nChoices:\n" + listed_choices(item) +
                   "Answer:";
      break;
    case DatasetFormat::kMmlu:
      out.prompt = mmlu_question(item);
      break;
  }
  for (const std::string& label : item.labels) out.label_tokens.push_back(" " + label);
  return out;
}

std::vector<ContinuationRequest> continuation_requests(const MultipleChoiceItem& item) {
  std::vector<ContinuationRequest> out;
  switch (item.format) {
    case DatasetFormat::kArc:
      for (const std::string& choice : item.choices)
        out.push_back({"Question: " + item.question + "\nAnswer:", " " + choice});
      break;
    case DatasetFormat::kOpenBookQa:
      for (const std::string& choice : item.choices) out.push_back({item.question, " " + choice});
      break;
    case DatasetFormat::kBoolQ:
      for (const std::string& choice : item.choices) {
        out.push_back({item.context + "\nQuestion: " + item.question + "?\nAnswer:", " " + choice});
      }
      break;
    case DatasetFormat::kWinoGrande: {
      const std::size_t blank = item.question.find('_');
      const std::string before = item.question.substr(0, blank);
      const std::string after =
          blank == std::string::npos ? std::string() : trim(item.question.substr(blank + 1));
      for (const std::string& option : item.choices) out.push_back({before + option, " " + after});
      break;
    }
    case DatasetFormat::kMmlu:
      for (const std::string& label : item.labels)
        out.push_back({mmlu_question(item), " " + label});
      break;
  }
  return out;
}

}  // namespace vkmoe
