// The device side of the last-layer Laplace baseline on tiny models (tools/make_tiny_models.py):
// answer_features' logits are MultipleChoiceScorer's scores, lm_head_rows · hidden gives them
// back (untied and tied heads, F32 and GGUF Q8_0/Q4_0 heads), a fit on the features works end
// to end; and lm_head_rows of hand-made heads of every weight type against the baseline GEMV.
#include "engine/eval/answer_features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/bayes/last_layer_laplace.h"
#include "engine/eval/multiple_choice.h"
#include "engine/ops/gemv.h"
#include "engine/vk/error.h"
#include "loaders/model_files.h"
#include "loaders/quant_blocks.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::filesystem::path tiny_models() {
  const char* dir = std::getenv("VKMOE_TINY_MODELS");
  return dir != nullptr ? dir : VKMOE_TINY_MODELS_DIR;
}

// ARC-layout items, four choices A–D each, so they share one label-token set.
std::vector<eval::TokenizedItem> arc_items(const Tokenizer& tokenizer, int count) {
  const std::vector<std::string> words = {"copper", "wood",  "glass", "salt", "water", "stone",
                                          "frog",   "shark", "sun",   "ice",  "cloth", "iron"};
  std::vector<eval::TokenizedItem> out;
  for (int n = 0; n < count; ++n) {
    MultipleChoiceItem item;
    item.id = "synthetic_" + std::to_string(n);
    item.question = "Which of these is " + words[static_cast<std::size_t>(n) % words.size()] +
                    (n % 2 == 0 ? " in the kitchen?" : " made of?");
    for (int c = 0; c < 4; ++c) {
      item.choices.push_back(words[static_cast<std::size_t>(n + 3 * c + 1) % words.size()]);
      item.labels.push_back(std::string(1, static_cast<char>('A' + c)));
    }
    item.answer = n % 4;
    out.push_back(eval::tokenize_item(item, tokenizer, eval::ScoringMethod::kAnswerLabels));
  }
  return out;
}

struct Case {
  const char* model;      // under the tiny models folder
  const char* tokenizer;  // the folder whose tokenizer.json it shares
};

class AnswerFeaturesTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(AnswerFeaturesTest, LogitsAreTheScorersAndTheHeadRowsGiveThemBack) {
  const ModelFiles files = open_model_files(tiny_models() / GetParam().model);
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const Tokenizer tokenizer =
      Tokenizer::load(tiny_models() / GetParam().tokenizer / "tokenizer.json");
  const std::vector<eval::TokenizedItem> items = arc_items(tokenizer, 10);

  std::size_t calls = 0;
  const std::vector<eval::AnswerFeatures> features =
      eval::answer_features(context(), weights, items, [&](std::size_t done) {
        ++calls;
        EXPECT_EQ(done, calls);
      });
  ASSERT_EQ(features.size(), items.size());
  EXPECT_EQ(calls, items.size());
  const auto hidden = static_cast<std::size_t>(weights.config.hidden_size);
  const ops::DType head_type = weights.output().type;

  std::size_t most = 0;
  for (const eval::TokenizedItem& item : items) most = std::max(most, item.max_tokens());
  eval::MultipleChoiceScorer scorer(context(), weights, eval::ScoringMethod::kAnswerLabels, most);
  const std::vector<TokenId> labels = features[0].label_tokens;
  const std::vector<double> rows = eval::lm_head_rows(context(), weights, labels);
  ASSERT_EQ(rows.size(), labels.size() * hidden);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const eval::AnswerFeatures& f = features[i];
    EXPECT_EQ(f.id, items[i].id);
    EXPECT_EQ(f.answer, items[i].answer);
    EXPECT_EQ(f.label_tokens, labels);
    ASSERT_EQ(f.hidden.size(), hidden);
    const eval::ScoredItem scored = scorer.score(items[i]);
    ASSERT_EQ(f.logits.size(), scored.scores.size());
    for (std::size_t c = 0; c < f.logits.size(); ++c) {
      EXPECT_NEAR(f.logits[c], scored.scores[c], 1e-6 * std::fabs(scored.scores[c]) + 1e-12)
          << f.id << " choice " << c;
      // lm_head on the host from the read-back rows: the device's f32 GEMV up to its rounding,
      // plus, for Q8_0/Q4_0 heads, the int8 activations of the integer-dot fast path
      // (engine/ops/fast_paths.h): x in blocks of 32 at scale amax/127, each off by at most
      // half a step.
      double dot = 0, magnitude = 0, int8_bound = 0;
      for (std::size_t h = 0; h < hidden; ++h) {
        dot += rows[c * hidden + h] * f.hidden[h];
        magnitude += std::fabs(rows[c * hidden + h] * f.hidden[h]);
        double amax = 0;
        for (std::size_t j = h / 32 * 32; j < std::min(h / 32 * 32 + 32, hidden); ++j) {
          amax = std::max(amax, std::fabs(f.hidden[j]));
        }
        int8_bound += std::fabs(rows[c * hidden + h]) * amax / 254;
      }
      const bool int8 = head_type == ops::DType::q8_0 || head_type == ops::DType::q4_0;
      EXPECT_NEAR(dot, f.logits[c], 1e-5 * magnitude + 1e-6 + (int8 ? int8_bound : 0))
          << f.id << " choice " << c;
    }
  }

  // A fit on the features, and its predictive: λ → ∞ gives the MAP's softmax back.
  const bayes::LastLayerPosterior fit = bayes::fit_last_layer_laplace(features, rows, {});
  EXPECT_TRUE(fit.prior_precision > 0 && std::isfinite(fit.prior_precision));
  EXPECT_TRUE(std::isfinite(fit.log_evidence));
  bayes::LastLayerLaplaceOptions huge;
  huge.prior_precision = 1e14;
  const bayes::LastLayerPosterior tight = bayes::fit_last_layer_laplace(features, rows, huge);
  bayes::PredictiveOptions probit;
  probit.method = bayes::LogitIntegration::kProbit;
  const std::vector<double> p = bayes::last_layer_predictive(tight, features[1], probit);
  const std::vector<double> map = eval::softmax(features[1].logits);
  for (std::size_t c = 0; c < p.size(); ++c) EXPECT_NEAR(p[c], map[c], 1e-9);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, AnswerFeaturesTest,
                         ::testing::Values(Case{"qwen2_moe-f32", "qwen2_moe-f32"},
                                           Case{"qwen2_moe-h40-top1-norm",
                                                "qwen2_moe-h40-top1-norm"},
                                           Case{"deepseek-f32", "deepseek-f32"},
                                           Case{"qwen2_moe-q8_0.gguf", "qwen2_moe-f32"},
                                           Case{"qwen2_moe-q4_0.gguf", "qwen2_moe-f32"}),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           std::string name = param.param.model;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

class AnswerFeaturesErrors : public GpuTest {};

TEST_F(AnswerFeaturesErrors, RefusesItemsThatAreNotAnswerLabelItems) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const Tokenizer tokenizer = Tokenizer::load(tiny_models() / "qwen2_moe-f32" / "tokenizer.json");
  std::vector<eval::TokenizedItem> items = arc_items(tokenizer, 2);
  items[1].choices[2].continuation.push_back(items[1].choices[2].continuation[0]);
  try {
    eval::answer_features(context(), weights, items);
    ADD_FAILURE() << "a two-token continuation was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("synthetic_1"), std::string::npos) << e.what();
  }
  const std::vector<TokenId> outside = {static_cast<TokenId>(weights.config.vocab_size)};
  EXPECT_THROW(eval::lm_head_rows(context(), weights, outside), Error);
}

// Random bytes that decode to finite weights of `type`: plain values in [-1, 1], block scales
// small enough that the products stay modest.
std::vector<std::byte> random_weights(ops::DType type, std::size_t elements, std::mt19937& rng) {
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<std::byte> bytes(ops::dtype_row_bytes(type, elements));
  auto put16 = [&](std::size_t at, std::uint16_t v) { std::memcpy(bytes.data() + at, &v, 2); };
  switch (type) {
    case ops::DType::f32:
      for (std::size_t i = 0; i < elements; ++i) {
        const float v = unit(rng);
        std::memcpy(bytes.data() + 4 * i, &v, 4);
      }
      break;
    case ops::DType::f16:
    case ops::DType::bf16:
      for (std::size_t i = 0; i < elements; ++i) {
        put16(2 * i, type == ops::DType::f16 ? f32_to_f16(unit(rng)) : f32_to_bf16(unit(rng)));
      }
      break;
    default: {
      // Quant blocks: random bytes, then the f16 scales (and Q4_K's min) set to sane values.
      for (std::byte& b : bytes) b = static_cast<std::byte>(rng() & 0xFF);
      const uint32_t block = ops::dtype_block_bytes(type);
      for (std::size_t at = 0; at < bytes.size(); at += block) {
        put16(at, f32_to_f16(0.01f + 0.05f * std::fabs(unit(rng))));
        if (type == ops::DType::q4_k) put16(at + 2, f32_to_f16(0.02f * std::fabs(unit(rng))));
      }
    }
  }
  return bytes;
}

class LmHeadRows : public GpuTest, public ::testing::WithParamInterface<ops::DType> {};

// Every weight type the loaders keep on the device, untied: rows read back and decoded on the
// host, dotted with x, against the baseline GEMV kernel's y = W x, which decodes on the device.
TEST_P(LmHeadRows, MatchTheGemvKernel) {
  const ops::DType type = GetParam();
  const uint32_t vocab = 37, hidden = 256;  // 256: whole Q4_K super-blocks
  std::mt19937 rng(7);
  const std::vector<std::byte> bytes = random_weights(type, std::size_t{vocab} * hidden, rng);
  model::ModelWeights weights;
  weights.config.vocab_size = vocab;
  weights.config.hidden_size = hidden;
  weights.lm_head.type = type;
  weights.lm_head.rows = vocab;
  weights.lm_head.cols = hidden;
  weights.lm_head.buffer = context().create_buffer(bytes.size(), "lm_head");
  const std::vector<float> x = random_floats(hidden, 3);
  vk::Buffer x_buffer = context().create_buffer(hidden * sizeof(float), "x");
  vk::Buffer y_buffer = context().create_buffer(vocab * sizeof(float), "y");
  std::vector<float> y(vocab);
  stream().upload(weights.lm_head.buffer.span(), bytes.data(), bytes.size());
  stream().upload(x_buffer.span(), x.data(), hidden * sizeof(float));
  // The baseline GEMV: f32 activations (the integer-dot fast path would quantise x to int8).
  ops::gemv(stream(), {.w = weights.lm_head.buffer.span(),
                       .x = x_buffer.span(),
                       .y = y_buffer.span(),
                       .w_type = type,
                       .m = vocab,
                       .k = hidden,
                       .config = ops::baseline_gemv_config()});
  stream().download(y_buffer.span(), y.data(), vocab * sizeof(float));
  stream().finish();

  const std::vector<TokenId> tokens = {5, 0, 36, 17, 5, 1};  // repeats, both ends, odd rows
  const std::vector<double> rows = eval::lm_head_rows(context(), weights, tokens);
  ASSERT_EQ(rows.size(), tokens.size() * hidden);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    double dot = 0, magnitude = 0;
    for (uint32_t h = 0; h < hidden; ++h) {
      dot += rows[i * hidden + h] * x[h];
      magnitude += std::fabs(rows[i * hidden + h] * x[h]);
    }
    EXPECT_NEAR(dot, y[tokens[i]], 1e-5 * magnitude + 1e-7) << "token " << tokens[i];
  }
}

INSTANTIATE_TEST_SUITE_P(WeightTypes, LmHeadRows,
                         ::testing::Values(ops::DType::f32, ops::DType::f16, ops::DType::bf16,
                                           ops::DType::q8_0, ops::DType::q4_0, ops::DType::q4_k),
                         [](const ::testing::TestParamInfo<ops::DType>& param) {
                           return std::string(ops::dtype_name(param.param));
                         });

}  // namespace
}  // namespace vkmoe::test
