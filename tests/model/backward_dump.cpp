// Writes what the whole-model backward hands KFAC for one prompt, for
// backward_vs_reference.py to compare with the numpy reference:
//
//   model_backward_dump MODEL TOKENS ANSWERS TRUTH OUT_DIR
//
// TOKENS and ANSWERS are comma-separated token ids, TRUTH the index of the true answer. OUT_DIR
// receives, per MoE layer l, g_l.f32 [entries, H], a_l.f32 [entries, I] and choices_l.u32
// [entries] (raw little-endian), and meta.json with each layer's index and sizes.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/model/backward.h"
#include "engine/model/saved_forward.h"
#include "engine/vk/context.h"
#include "engine/vk/stream.h"
#include "loaders/model_files.h"

namespace {

std::vector<uint32_t> parse_ids(const std::string& text) {
  std::vector<uint32_t> ids;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    ids.push_back(static_cast<uint32_t>(std::stoul(item)));
  return ids;
}

void write(vkmoe::vk::Stream& stream, vkmoe::vk::BufferSpan span, uint64_t bytes,
           const std::filesystem::path& path) {
  std::vector<char> data(bytes);
  stream.download(span, data.data(), bytes);
  stream.finish();
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(bytes));
}

int run(int argc, char** argv) {
  using namespace vkmoe;
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s MODEL TOKENS ANSWERS TRUTH OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::vector<uint32_t> tokens = parse_ids(argv[2]), answers = parse_ids(argv[3]);
  std::vector<float> targets(answers.size(), 0.0f);
  targets.at(std::stoul(argv[4])) = 1.0f;
  const std::filesystem::path out = argv[5];

  vk::Context context;
  const ModelFiles files = open_model_files(argv[1]);
  const model::ModelWeights weights = model::load_model_weights(context, *files.tensors);
  const model::SavedForward saved(context, weights, tokens);
  const model::ActivationGradients grads =
      model::backward(context, weights, saved, {answers, targets});

  const uint64_t H = static_cast<uint64_t>(weights.config.hidden_size);
  const uint64_t I = static_cast<uint64_t>(weights.config.moe_intermediate_size);
  vk::Stream stream(context);
  nlohmann::json meta = {{"hidden", H}, {"inner", I}, {"layers", nlohmann::json::array()}};
  for (const model::MoeLayerActivations& m : grads.moe_layers()) {
    const std::string l = std::to_string(m.layer);
    write(stream, m.g, m.entries * H * sizeof(float), out / ("g_" + l + ".f32"));
    write(stream, m.a, m.entries * I * sizeof(float), out / ("a_" + l + ".f32"));
    write(stream, m.choices, m.entries * sizeof(uint32_t), out / ("choices_" + l + ".u32"));
    meta["layers"].push_back({{"layer", m.layer}, {"entries", m.entries}});
  }
  std::ofstream(out / "meta.json") << meta.dump(1) << "\n";
  // VKMOE_VALIDATION=1: any message the validation layer printed fails the check.
  for (const std::string& message : context.validation_messages()) {
    std::fprintf(stderr, "validation: %s\n", message.c_str());
  }
  return context.validation_message_count() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
