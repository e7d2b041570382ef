// Reading the five multiple-choice layouts from assets/datasets, and one test per refusal.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "loaders/dataset.h"
#include "loaders/load_error.h"

namespace vkmoe {
namespace {

const std::filesystem::path kData = std::filesystem::path(VKMOE_SOURCE_DIR) / "assets/datasets";

std::string parse_error(const std::string& text, DatasetFormat format) {
  try {
    parse_multiple_choice_jsonl(text, "d.jsonl", format);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Dataset, ReadsArc) {
  const auto items = read_multiple_choice_jsonl(kData / "arc_easy.jsonl", DatasetFormat::kArc);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].id, "vkmoe_arc_1");
  EXPECT_EQ(items[0].choices.size(), 4u);
  EXPECT_EQ(items[0].answer, 1);
  EXPECT_EQ(items[1].choices.size(), 3u);  // ARC items may have 3 or 5 choices
  EXPECT_EQ(items[2].labels, (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(items[2].answer, 2);
}

TEST(Dataset, ReadsOpenBookQa) {
  const auto items =
      read_multiple_choice_jsonl(kData / "openbookqa.jsonl", DatasetFormat::kOpenBookQa);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].question, "Which of these would let the most light pass through?");
  EXPECT_EQ(items[1].answer, 1);
}

TEST(Dataset, ReadsBoolQ) {
  const auto items = read_multiple_choice_jsonl(kData / "boolq.jsonl", DatasetFormat::kBoolQ);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].choices, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(items[0].answer, 1);
  EXPECT_EQ(items[1].answer, 0);
  EXPECT_EQ(items[1].id, "1");
  EXPECT_FALSE(items[1].context.empty());
}

TEST(Dataset, ReadsWinoGrande) {
  const auto items =
      read_multiple_choice_jsonl(kData / "winogrande.jsonl", DatasetFormat::kWinoGrande);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].choices, (std::vector<std::string>{"Maria", "Kate"}));
  EXPECT_EQ(items[1].labels, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(items[1].answer, 1);
  EXPECT_EQ(items[1].id, "2");  // the line number
}

TEST(Dataset, ReadsMmlu) {
  const auto items = read_multiple_choice_jsonl(kData / "mmlu.jsonl", DatasetFormat::kMmlu);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].context, "abstract_algebra");
  EXPECT_EQ(items[0].labels, (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_EQ(items[0].answer, 2);
}

TEST(Dataset, BlankLinesAndCrlfAreFine) {
  const auto items = parse_multiple_choice_jsonl(
      "\r\n{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 1}\r\n\n", "d.jsonl",
      DatasetFormat::kMmlu);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id, "2");
}

TEST(Dataset, UnlabelledSplits) {
  EXPECT_EQ(parse_multiple_choice_jsonl(
                R"({"sentence": "a _ b", "option1": "x", "option2": "y", "answer": ""})", "d",
                DatasetFormat::kWinoGrande)[0]
                .answer,
            -1);
  EXPECT_EQ(
      parse_multiple_choice_jsonl(R"({"question": "q", "passage": "p", "idx": 3, "label": -1})",
                                  "d", DatasetFormat::kBoolQ)[0]
          .answer,
      -1);
}

TEST(Dataset, FormatNames) {
  EXPECT_EQ(dataset_format_from_name("ARC_Challenge"), DatasetFormat::kArc);
  EXPECT_EQ(dataset_format_from_name("super_glue"), DatasetFormat::kBoolQ);
  EXPECT_STREQ(dataset_format_name(DatasetFormat::kWinoGrande), "winogrande");
  try {
    dataset_format_from_name("squad");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_STREQ(e.what(),
                 "unknown dataset format 'squad' (arc, openbookqa, boolq, winogrande or mmlu)");
  }
}

TEST(DatasetErrors, NameFileLineAndField) {
  using F = DatasetFormat;
  try {
    read_multiple_choice_jsonl(kData / "missing.jsonl", F::kArc);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.jsonl: cannot open dataset file"),
              std::string::npos);
  }
  const std::string arc_ok =
      R"({"id": "x", "question": "q", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "A"})";
  EXPECT_EQ(parse_error(arc_ok + "\n{\"id\": ", F::kArc).rfind("d.jsonl:2: offset", 0), 0u);
  EXPECT_EQ(parse_error(arc_ok + "\n[1]", F::kArc), "d.jsonl:2: (line): expected a JSON object");
  EXPECT_EQ(parse_error("{\"id\": \"x\"}", F::kArc), "d.jsonl:1: question: missing");
  EXPECT_EQ(parse_error("{\"id\": 5}", F::kArc), "d.jsonl:1: id: expected a string");
  EXPECT_EQ(parse_error(R"({"id": "x", "question": "q", "choices": []})", F::kArc),
            "d.jsonl:1: choices: expected an object {text: [...], label: [...]}");
  EXPECT_EQ(
      parse_error(R"({"id": "x", "question": "q", "choices": {"text": ["a", 1], "label": []}})",
                  F::kArc),
      "d.jsonl:1: choices.text: expected an array of strings");
  EXPECT_EQ(parse_error(
                R"({"id": "x", "question": "q", "choices": {"text": ["a", "b"], "label": ["A"]}})",
                F::kArc),
            "d.jsonl:1: choices: 2 texts but 1 labels");
  EXPECT_EQ(
      parse_error(R"({"id": "x", "question": "q", "choices": {"text": ["a"], "label": ["A"]}})",
                  F::kArc),
      "d.jsonl:1: choices: needs at least 2 choices, has 1");
  EXPECT_EQ(
      parse_error(
          R"({"id": "x", "question": "q", "choices": {"text": ["a", "b"], "label": ["A", "A"]}})",
          F::kArc),
      "d.jsonl:1: choices: label 'A' appears twice");
  EXPECT_EQ(
      parse_error(
          R"({"id": "x", "question_stem": "q", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, )"
          R"("answerKey": "E"})",
          F::kOpenBookQa),
      "d.jsonl:1: answerKey: 'E' is not one of the choice labels");
  EXPECT_EQ(parse_error(R"({"question": "q", "passage": "p", "label": 2})", F::kBoolQ),
            "d.jsonl:1: label: expected 0 (false), 1 (true) or -1 (unlabelled)");
  EXPECT_EQ(parse_error(R"({"question": "q", "passage": "p", "idx": "3", "label": 1})", F::kBoolQ),
            "d.jsonl:1: idx: expected an integer");
  EXPECT_EQ(
      parse_error(R"({"sentence": "no blank", "option1": "x", "option2": "y", "answer": "1"})",
                  F::kWinoGrande),
      "d.jsonl:1: sentence: has no '_' blank");
  EXPECT_EQ(parse_error(R"({"sentence": "_ and _", "option1": "x", "option2": "y", "answer": "1"})",
                        F::kWinoGrande),
            "d.jsonl:1: sentence: has more than one '_'");
  EXPECT_EQ(parse_error(R"({"sentence": "a _", "option1": "x", "option2": "y", "answer": "3"})",
                        F::kWinoGrande),
            "d.jsonl:1: answer: expected \"1\", \"2\" or \"\" (unlabelled), got \"3\"");
  EXPECT_EQ(parse_error(R"({"question": "q", "choices": ["a", "b"], "answer": 2})", F::kMmlu),
            "d.jsonl:1: answer: expected an integer index from 0 to 1");
  EXPECT_EQ(parse_error(R"({"question": "q", "choices": "ab", "answer": 0})", F::kMmlu),
            "d.jsonl:1: choices: expected an array of strings");
  EXPECT_EQ(parse_error("\n\n{\"question\": \"\xFF\"}", F::kMmlu),
            "d.jsonl:3: (line): not valid UTF-8 at column 15");
  std::string deep(100, '[');
  EXPECT_EQ(
      parse_error(deep, F::kMmlu).rfind("d.jsonl:1: offset 64: JSON nesting deeper than 64", 0),
      0u);
}

}  // namespace
}  // namespace vkmoe
