// The whole-model backward checked on the engine itself, by a derivative it predicts exactly:
// scaling one routed expert's down_proj weights by (1 + ε) scales its output y_t for every entry
// routed to it, so d loss/dε at ε = 0 is Σ_t ⟨g_t, y_t⟩ over those entries (g the backward's
// ∂loss/∂y, routing weight included). Two forwards with ε = ±h give the central difference. A g
// that missed the routing weight, a layer's residual path, the router or a norm would miss it.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/backward.h"
#include "engine/model/forward.h"
#include "engine/model/saved_forward.h"
#include "engine/vk/error.h"
#include "loaders/model_files.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::filesystem::path tiny_models() {
  const char* dir = std::getenv("VKMOE_TINY_MODELS");
  return dir != nullptr ? dir : VKMOE_TINY_MODELS_DIR;
}

std::vector<uint32_t> prompt(const std::string& name, const char* length) {
  std::ifstream f(tiny_models() / "manifest.json");
  const nlohmann::json manifest = nlohmann::json::parse(f);
  return manifest.at("models").at(name).at("prompts").at(length).get<std::vector<uint32_t>>();
}

// −log softmax over the answers' logits, at the true answer.
double choice_loss(std::span<const float> logits, std::span<const uint32_t> answers,
                   uint32_t truth) {
  double top = -INFINITY, total = 0;
  for (uint32_t id : answers) top = std::max(top, double(logits[id]));
  for (uint32_t id : answers) total += std::exp(double(logits[id]) - top);
  return -(double(logits[answers[truth]]) - top - std::log(total));
}

template <typename T>
std::vector<T> read_span(vk::Stream& stream, vk::BufferSpan span, size_t count) {
  std::vector<T> out(count);
  stream.download(span, out.data(), count * sizeof(T));
  stream.finish();
  return out;
}

struct Case {
  const char* model;
  const char* length;
};

class BackwardScaleTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(BackwardScaleTest, PredictsTheLossChangeOfScalingOneExpert) {
  const auto [name, length] = GetParam();
  const ModelFiles files = open_model_files(tiny_models() / name);
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const ModelConfig& c = weights.config;
  const std::vector<uint32_t> tokens = prompt(name, length);
  const uint32_t answers[] = {3, 10, 17, 24};
  const uint32_t truth = 2;
  const float targets[] = {0, 0, 1, 0};

  const model::SavedForward saved(context(), weights, tokens);
  const model::ActivationGradients grads =
      model::backward(context(), weights, saved, {answers, targets});
  ASSERT_FALSE(grads.moe_layers().empty());
  const auto H = static_cast<size_t>(c.hidden_size),
             I = static_cast<size_t>(c.moe_intermediate_size);

  for (const model::MoeLayerActivations& m : grads.moe_layers()) {
    const auto g = read_span<float>(stream(), m.g, size_t{m.entries} * H);
    const auto y = read_span<float>(stream(), m.y, size_t{m.entries} * H);
    const auto choices = read_span<uint32_t>(stream(), m.choices, m.entries);
    // The expert whose predicted derivative is largest: a vanishing one would check nothing.
    std::vector<double> by_expert(static_cast<size_t>(c.num_experts));
    for (uint32_t i = 0; i < m.entries; ++i) {
      for (size_t h = 0; h < H; ++h)
        by_expert.at(choices[i]) += double(g[i * H + h]) * y[i * H + h];
    }
    const auto largest =
        std::max_element(by_expert.begin(), by_expert.end(),
                         [](double a, double b) { return std::fabs(a) < std::fabs(b); });
    const auto expert = static_cast<uint32_t>(largest - by_expert.begin());
    const double predicted = *largest;
    ASSERT_GT(std::fabs(predicted), 1e-4) << name << " layer " << m.layer;

    // The expert's [H, I] block of the stacked down_proj, scaled in place and restored.
    const model::DeviceMatrix& down = weights.layers[m.layer].experts_down;
    ASSERT_EQ(down.type, ops::DType::f32);
    const uint64_t bytes = H * I * sizeof(float);
    const vk::BufferSpan block = down.buffer.span(expert * bytes, bytes);
    const auto original = read_span<float>(stream(), block, H * I);
    const auto loss_at = [&](double scale) {
      std::vector<float> scaled(original);
      for (float& v : scaled) v = static_cast<float>(v * scale);
      stream().upload(block, scaled.data(), bytes);
      stream().finish();
      model::KvCache cache(context(), c, static_cast<uint32_t>(tokens.size()));
      const std::vector<float> logits = model::forward(context(), weights, cache, {tokens, 0});
      return choice_loss(logits, answers, truth);
    };
    const double step = 1e-2;
    const double fd = (loss_at(1 + step) - loss_at(1 - step)) / (2 * step);
    stream().upload(block, original.data(), bytes);
    stream().finish();
    // Seen: relative differences up to 3e-4 (f32 forwards, the O(step²) term).
    EXPECT_NEAR(fd, predicted, 2e-3 * std::fabs(predicted) + 1e-5)
        << name << " layer " << m.layer << " expert " << expert;
  }
}

INSTANTIATE_TEST_SUITE_P(
    TinyModels, BackwardScaleTest,
    ::testing::Values(Case{"qwen2_moe-f32", "1"}, Case{"qwen2_moe-f32", "7"},
                      Case{"qwen2_moe-f32", "64"}, Case{"deepseek-f32", "1"},
                      Case{"deepseek-f32", "7"}, Case{"deepseek-f32", "64"},
                      Case{"qwen2_moe-h40-top1-norm", "7"}, Case{"deepseek-h40-top1-norm", "7"},
                      Case{"deepseek-attn-bias", "7"}, Case{"qwen2_moe-dead-expert", "7"}),
    [](const ::testing::TestParamInfo<Case>& param) {
      std::string s = std::string(param.param.model) + "_" + param.param.length;
      std::replace_if(
          s.begin(), s.end(), [](char ch) { return !std::isalnum(ch); }, '_');
      return s;
    });

class BackwardErrorsTest : public GpuTest {};

TEST_F(BackwardErrorsTest, RefusesMismatchedTargetsAndAnswersOutsideTheVocabulary) {
  const ModelFiles files = open_model_files(tiny_models() / "qwen2_moe-f32");
  const model::ModelWeights weights = model::load_model_weights(context(), *files.tensors);
  const uint32_t tokens[] = {1, 2, 3};
  const model::SavedForward saved(context(), weights, tokens);
  const uint32_t answers[] = {3, 10};
  const float one_target[] = {1};
  EXPECT_THROW(model::backward(context(), weights, saved, {answers, one_target}), Error);
  const uint32_t outside[] = {3, static_cast<uint32_t>(weights.config.vocab_size)};
  const float targets[] = {1, 0};
  EXPECT_THROW(model::backward(context(), weights, saved, {outside, targets}), Error);
  const uint32_t bad_token[] = {static_cast<uint32_t>(weights.config.vocab_size)};
  EXPECT_THROW(model::SavedForward(context(), weights, bad_token), Error);
  EXPECT_THROW(model::SavedForward(context(), weights, std::span<const uint32_t>()), Error);
}

}  // namespace
}  // namespace vkmoe::test
