#include "engine/bayes/layer_selection.h"

#include <charconv>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

namespace {

bool parse_index(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

std::vector<std::int64_t> moe_layers(const ModelConfig& config) {
  std::vector<std::int64_t> moe;
  for (std::int64_t l = 0; l < config.num_layers; ++l) {
    if (config.is_moe(l)) moe.push_back(l);
  }
  return moe;
}

}  // namespace

std::vector<std::int64_t> layer_quarter(int quarter, const ModelConfig& config) {
  if (quarter < 1 || quarter > 4) {
    throw BayesError("layer quarter " + std::to_string(quarter) + ": expected 1 to 4");
  }
  const std::vector<std::int64_t> moe = moe_layers(config);
  const std::size_t k = static_cast<std::size_t>(quarter), n = moe.size();
  return {moe.begin() + static_cast<std::ptrdiff_t>((k - 1) * n / 4),
          moe.begin() + static_cast<std::ptrdiff_t>(k * n / 4)};
}

std::vector<std::int64_t> select_layers(std::string_view text, const ModelConfig& config) {
  const std::vector<std::int64_t> moe = moe_layers(config);
  const std::string quoted = "--layers '" + std::string(text) + "'";
  std::vector<std::int64_t> out;
  if (text == "all") {
    out = moe;
  } else if (text.size() == 2 && text[0] == 'q' && text[1] >= '1' && text[1] <= '4') {
    out = layer_quarter(text[1] - '0', config);
  } else {
    const std::size_t dash = text.find('-');
    std::int64_t first = 0, last = 0;
    const bool ok =
        dash == std::string_view::npos
            ? parse_index(text, first) && parse_index(text, last)
            : parse_index(text.substr(0, dash), first) && parse_index(text.substr(dash + 1), last);
    if (!ok) throw BayesError(quoted + ": expected all, q1, q2, q3, q4 or a range A-B");
    if (first > last || last >= config.num_layers) {
      throw BayesError(quoted + ": the range must satisfy A ≤ B < " +
                       std::to_string(config.num_layers) + " (the model's layers)");
    }
    for (std::int64_t l : moe) {
      if (l >= first && l <= last) out.push_back(l);
    }
  }
  if (out.empty()) throw BayesError(quoted + ": selects no MoE layer of this model");
  return out;
}

std::string describe_layers(const std::vector<std::int64_t>& layers) {
  if (layers.empty()) return "";
  bool contiguous = true;
  for (std::size_t k = 1; k < layers.size(); ++k) contiguous &= layers[k] == layers[k - 1] + 1;
  if (contiguous) {
    return layers.size() == 1
               ? std::to_string(layers[0])
               : std::to_string(layers.front()) + "-" + std::to_string(layers.back());
  }
  std::string s;
  for (std::int64_t l : layers) s += (s.empty() ? "" : ",") + std::to_string(l);
  return s;
}

}  // namespace vkmoe::bayes
