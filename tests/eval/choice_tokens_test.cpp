// Items to token ids for both ways of scoring, with the Qwen2-layout tokenizer of assets/
// (the tiny models' tokenizer): shared contexts, harness concatenation, and the errors.
#include <gtest/gtest.h>

#include <string>

#include "engine/eval/choice_tokens.h"
#include "engine/vk/error.h"
#include "loaders/prompt_template.h"

namespace vkmoe::eval {
namespace {

const Tokenizer& tokenizer() {
  static const Tokenizer t =
      Tokenizer::load(std::string(VKMOE_SOURCE_DIR) + "/assets/tokenizer/tokenizer.json");
  return t;
}

MultipleChoiceItem arc_item() {
  MultipleChoiceItem item;
  item.format = DatasetFormat::kArc;
  item.id = "arc-1";
  item.question = "What force pulls a dropped ball toward the ground?";
  item.choices = {"magnetism", "friction", "gravity"};
  item.labels = {"A", "B", "C"};
  item.answer = 2;
  return item;
}

TEST(ChoiceTokens, AnswerLabelsShareThePromptAndTakeOneTokenEach) {
  const MultipleChoiceItem item = arc_item();
  const TokenizedItem t = tokenize_item(item, tokenizer(), ScoringMethod::kAnswerLabels);
  EXPECT_EQ(t.id, "arc-1");
  EXPECT_EQ(t.answer, 2);
  ASSERT_EQ(t.choices.size(), 3u);
  EXPECT_TRUE(t.shared_context());
  EXPECT_EQ(t.choices[0].context,
            tokenizer().encode(answer_label_prompt(item).prompt, SpecialTokens::kAdd));
  for (std::size_t c = 0; c < 3; ++c) {
    ASSERT_EQ(t.choices[c].continuation.size(), 1u);
    EXPECT_EQ(tokenizer().decode(t.choices[c].continuation), " " + item.labels[c]);
  }
  EXPECT_EQ(t.max_tokens(), t.choices[0].context.size() + 1);
}

TEST(ChoiceTokens, ContinuationsAreEncodedApartFromTheirContext) {
  const MultipleChoiceItem item = arc_item();
  const TokenizedItem t = tokenize_item(item, tokenizer(), ScoringMethod::kContinuation);
  ASSERT_EQ(t.choices.size(), 3u);
  EXPECT_TRUE(t.shared_context());
  const auto requests = continuation_requests(item);
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(t.choices[c].context, tokenizer().encode(requests[c].context, SpecialTokens::kAdd));
    EXPECT_EQ(t.choices[c].continuation, tokenizer().encode(requests[c].continuation));
    EXPECT_EQ(tokenizer().decode(t.choices[c].continuation), " " + item.choices[c]);
  }
}

TEST(ChoiceTokens, WinoGrandeContextsDiffer) {
  MultipleChoiceItem item;
  item.format = DatasetFormat::kWinoGrande;
  item.id = "7";
  item.question = "The trophy did not fit in the suitcase because the _ was too large.";
  item.choices = {"trophy", "suitcase"};
  item.labels = {"1", "2"};
  item.answer = 0;
  const TokenizedItem t = tokenize_item(item, tokenizer(), ScoringMethod::kContinuation);
  EXPECT_FALSE(t.shared_context());
  EXPECT_EQ(t.choices[0].continuation, t.choices[1].continuation);
}

TEST(ChoiceTokens, ALabelOfTwoTokensIsNamed) {
  MultipleChoiceItem item = arc_item();
  item.labels = {"1", "2", "3"};  // " 1" is two tokens in the tiny tokenizer
  try {
    tokenize_item(item, tokenizer(), ScoringMethod::kAnswerLabels);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("arc item 'arc-1'"), std::string::npos) << what;
    EXPECT_NE(what.find("answer label \" 1\" encodes to 2 tokens"), std::string::npos) << what;
  }
  // The same item scores fine by continuation.
  EXPECT_NO_THROW(tokenize_item(item, tokenizer(), ScoringMethod::kContinuation));
}

TEST(ChoiceTokens, AnItemWithoutAnswerIsNamed) {
  MultipleChoiceItem item = arc_item();
  item.answer = -1;
  try {
    tokenize_item(item, tokenizer(), ScoringMethod::kContinuation);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("arc item 'arc-1' has no answer"), std::string::npos)
        << e.what();
  }
}

TEST(ScoringMethod, Names) {
  EXPECT_EQ(scoring_method_from_name("labels"), ScoringMethod::kAnswerLabels);
  EXPECT_EQ(scoring_method_from_name("continuation"), ScoringMethod::kContinuation);
  EXPECT_STREQ(scoring_method_name(ScoringMethod::kContinuation), "continuation");
  EXPECT_THROW(scoring_method_from_name("logits"), Error);
}

}  // namespace
}  // namespace vkmoe::eval
