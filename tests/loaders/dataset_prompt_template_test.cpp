// Prompt texts for answer-label and continuation scoring, checked character for character
// against the lm-evaluation-harness task definitions they follow.
#include <filesystem>

#include <gtest/gtest.h>

#include "loaders/dataset.h"
#include "loaders/prompt_template.h"

namespace vkmoe {
namespace {

MultipleChoiceItem item(DatasetFormat format, std::string question, std::string context,
                        std::vector<std::string> choices, std::vector<std::string> labels) {
  MultipleChoiceItem i;
  i.format = format;
  i.question = std::move(question);
  i.context = std::move(context);
  i.choices = std::move(choices);
  i.labels = std::move(labels);
  i.answer = 0;
  return i;
}

TEST(PromptTemplate, ArcContinuations) {
  const auto r =
      continuation_requests(item(DatasetFormat::kArc, "Why?", "", {"x y", "z"}, {"A", "B"}));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].context, "Question: Why?\nAnswer:");
  EXPECT_EQ(r[0].continuation, " x y");
  EXPECT_EQ(r[1].continuation, " z");
}

TEST(PromptTemplate, OpenBookQaContinuations) {
  const auto r = continuation_requests(
      item(DatasetFormat::kOpenBookQa, "Plants need", "", {"light", "dark"}, {"A", "B"}));
  EXPECT_EQ(r[1].context, "Plants need");
  EXPECT_EQ(r[1].continuation, " dark");
}

TEST(PromptTemplate, BoolQContinuations) {
  const auto r = continuation_requests(
      item(DatasetFormat::kBoolQ, "is it", "Passage.", {"no", "yes"}, {"A", "B"}));
  EXPECT_EQ(r[0].context, "Passage.\nQuestion: is it?\nAnswer:");
  EXPECT_EQ(r[0].continuation, " no");
  EXPECT_EQ(r[1].continuation, " yes");
}

TEST(PromptTemplate, WinoGrandePartialEvaluation) {
  const auto r = continuation_requests(item(DatasetFormat::kWinoGrande,
                                            "The cup fell because the _ was slippery.", "",
                                            {"cup", "table"}, {"1", "2"}));
  EXPECT_EQ(r[0].context, "The cup fell because the cup");
  EXPECT_EQ(r[1].context, "The cup fell because the table");
  EXPECT_EQ(r[0].continuation, " was slippery.");
  EXPECT_EQ(r[1].continuation, " was slippery.");
}

TEST(PromptTemplate, MmluContinuationsAndLabels) {
  const auto i = item(DatasetFormat::kMmlu, " 2+2? ", "high_school_mathematics",
                      {"3", "4", "5", "6"}, {"A", "B", "C", "D"});
  const std::string prompt =
      "The following are multiple choice questions (with answers) about high school "
      "mathematics.\n\n"
      "2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:";
  const auto r = continuation_requests(i);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[2].context, prompt);
  EXPECT_EQ(r[2].continuation, " C");
  const AnswerLabelPrompt p = answer_label_prompt(i);
  EXPECT_EQ(p.prompt, prompt);
  EXPECT_EQ(p.label_tokens, (std::vector<std::string>{" A", " B", " C", " D"}));
}

TEST(PromptTemplate, AnswerLabelPrompts) {
  EXPECT_EQ(
      answer_label_prompt(item(DatasetFormat::kArc, "Why?", "", {"a", "b"}, {"1", "2"})).prompt,
      "Question: Why?\nChoices:\n1. a\n2. b\nAnswer:");
  EXPECT_EQ(
      answer_label_prompt(item(DatasetFormat::kBoolQ, "is it", "P.", {"no", "yes"}, {"A", "B"}))
          .prompt,
      "P.\nQuestion: is it?\nChoices:\nA. no\nB. yes\nAnswer:");
  const AnswerLabelPrompt w =
      answer_label_prompt(item(DatasetFormat::kWinoGrande, "A _ b.", "", {"x", "y"}, {"1", "2"}));
  EXPECT_EQ(w.prompt,
            "Sentence: A _ b.\nWhich option fills the blank (_)?\nChoices:\n1. x\n2. y\nAnswer:");
  EXPECT_EQ(w.label_tokens, (std::vector<std::string>{" 1", " 2"}));
}

TEST(PromptTemplate, EverySampleFileMakesPrompts) {
  const std::filesystem::path data = std::filesystem::path(VKMOE_SOURCE_DIR) / "assets/datasets";
  const std::pair<const char*, DatasetFormat> files[] = {
      {"arc_easy.jsonl", DatasetFormat::kArc},
      {"openbookqa.jsonl", DatasetFormat::kOpenBookQa},
      {"boolq.jsonl", DatasetFormat::kBoolQ},
      {"winogrande.jsonl", DatasetFormat::kWinoGrande},
      {"mmlu.jsonl", DatasetFormat::kMmlu}};
  for (const auto& [file, format] : files) {
    for (const MultipleChoiceItem& i : read_multiple_choice_jsonl(data / file, format)) {
      EXPECT_EQ(continuation_requests(i).size(), i.choices.size()) << file;
      EXPECT_EQ(answer_label_prompt(i).label_tokens.size(), i.choices.size()) << file;
    }
  }
}

}  // namespace
}  // namespace vkmoe
