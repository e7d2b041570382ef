#include "engine/bayes/posterior_file.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/model_fingerprint.h"
#include "loaders/load_error.h"
#include "loaders/safetensors.h"
#include "loaders/safetensors_writer.h"

namespace vkmoe::bayes {

namespace {

constexpr const char* kFormatName = "vkmoe-bayes-moe-posterior";

std::string expert_prefix(std::int64_t layer, std::size_t expert) {
  return "layers." + std::to_string(layer) + ".experts." + std::to_string(expert) + ".";
}

// The five tensors of one expert, in file order.
std::vector<SafetensorsTensorLayout> expert_layouts(std::int64_t layer, std::size_t expert,
                                                    std::int64_t h, std::int64_t rg,
                                                    std::int64_t in, std::int64_t ra) {
  const std::string prefix = expert_prefix(layer, expert);
  return {{prefix + "qg", DType::kF32, {h, rg}},
          {prefix + "lg", DType::kF32, {rg}},
          {prefix + "qa", DType::kF32, {in, ra}},
          {prefix + "la", DType::kF32, {ra}},
          {prefix + "m", DType::kI64, {1}}};
}

std::map<std::string, std::string> file_metadata(std::uint64_t fingerprint,
                                                 const std::vector<std::int64_t>& layers,
                                                 std::int64_t rank, FisherType fisher,
                                                 PriorMean mean, std::size_t lambdas) {
  std::string layer_list;
  for (std::int64_t l : layers) layer_list += (layer_list.empty() ? "" : ",") + std::to_string(l);
  return {{"format", kFormatName},
          {"format_version", std::to_string(kPosteriorFormatVersion)},
          {"model_fingerprint", fingerprint_hex(fingerprint)},
          {"layers", layer_list},
          {"rank", std::to_string(rank)},
          {"fisher", std::string(fisher_type_name(fisher))},
          {"prior_mean", std::string(prior_mean_name(mean))},
          {"lambda_scope", lambdas == 1 ? "model" : "layer"}};
}

std::vector<float> narrow(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

void check_for_writing(const Posterior& p) {
  if (p.prior_precision.size() != 1 && p.prior_precision.size() != p.layers.size()) {
    throw BayesError("posterior file: " + std::to_string(p.prior_precision.size()) +
                     " prior precisions for " + std::to_string(p.layers.size()) +
                     " layers, expected one, or one per layer");
  }
  if (p.rank < 1) throw BayesError("posterior file: rank must be at least 1");
  for (std::size_t k = 0; k < p.layers.size(); ++k) {
    const LayerPosterior& l = p.layers[k];
    if (l.layer < 0 || (k > 0 && l.layer <= p.layers[k - 1].layer)) {
      throw BayesError("posterior file: layer indices must be ≥ 0 and ascending (layer " +
                       std::to_string(l.layer) + " at position " + std::to_string(k) + ")");
    }
    const double lambda =
        p.prior_precision.size() == 1 ? p.prior_precision[0] : p.prior_precision[k];
    for (std::size_t e = 0; e < l.experts.size(); ++e) {
      try {
        check_posterior(l.experts[e], {lambda, p.temperature});
      } catch (const BayesError& error) {
        throw BayesError("posterior file: " + expert_prefix(l.layer, e) + ": " + error.what());
      }
    }
  }
}

struct Reader {
  const std::filesystem::path& path;
  std::map<std::string, const TensorView*> by_name;

  [[noreturn]] void fail(const std::string& what) const {
    throw LoadError(path.string() + ": " + what);
  }

  const TensorView& tensor(const std::string& name, DType dtype) const {
    const auto it = by_name.find(name);
    if (it == by_name.end()) fail("missing tensor '" + name + "'");
    if (it->second->dtype != dtype) {
      fail("tensor '" + name + "' is " + std::string(dtype_name(it->second->dtype)) +
           ", expected " + std::string(dtype_name(dtype)));
    }
    return *it->second;
  }

  std::vector<double> f32(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const TensorView& t = tensor(name, DType::kF32);
    if (t.shape != shape)
      fail("tensor '" + name + "' has shape " + shape_text(t.shape) + ", expected " +
           shape_text(shape));
    std::vector<float> v(static_cast<std::size_t>(t.numel()));
    if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), v.size() * sizeof(float));
    return {v.begin(), v.end()};
  }

  // The shape of a 1-D or 2-D F32 tensor, checked for its rank.
  std::vector<std::int64_t> shape_of(const std::string& name, std::size_t dims) const {
    const TensorView& t = tensor(name, DType::kF32);
    if (t.shape.size() != dims) {
      fail("tensor '" + name + "' has shape " + shape_text(t.shape) + ", expected " +
           std::to_string(dims) + " dimensions");
    }
    return t.shape;
  }

  static std::string shape_text(const std::vector<std::int64_t>& s) {
    std::string out = "[";
    for (std::size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
    return out + "]";
  }
};

std::int64_t parse_int(const Reader& r, const std::string& key, std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    r.fail("metadata '" + key + "' = '" + std::string(text) + "' is not an integer");
  }
  return v;
}

}  // namespace

void write_posterior_file(const std::filesystem::path& path, const Posterior& p) {
  check_for_writing(p);
  SafetensorsWriter w;
  std::vector<std::int64_t> layers;
  for (const LayerPosterior& l : p.layers) {
    layers.push_back(l.layer);
    for (std::size_t e = 0; e < l.experts.size(); ++e) {
      const KronExpertFactors& f = l.experts[e];
      const auto names = expert_layouts(l.layer, e, f.g.n, f.g.count(), f.a.n, f.a.count());
      w.add_f32(names[0].name, names[0].shape, narrow(f.g.vectors));
      w.add_f32(names[1].name, names[1].shape, narrow(f.g.values));
      w.add_f32(names[2].name, names[2].shape, narrow(f.a.vectors));
      w.add_f32(names[3].name, names[3].shape, narrow(f.a.values));
      const std::int64_t m = static_cast<std::int64_t>(f.tokens);
      w.add_i64(names[4].name, names[4].shape, std::span<const std::int64_t>(&m, 1));
    }
  }
  w.add_f32("lambda", {static_cast<std::int64_t>(p.prior_precision.size())},
            narrow(p.prior_precision));
  const float t = static_cast<float>(p.temperature);
  w.add_f32("temperature", {1}, std::span<const float>(&t, 1));
  for (auto& [key, value] : file_metadata(p.model_fingerprint, layers, p.rank, p.fisher,
                                          p.prior_mean, p.prior_precision.size())) {
    w.set_metadata(key, value);
  }
  w.write(path);
}

std::uint64_t posterior_file_bytes(const PosteriorShape& shape) {
  std::vector<SafetensorsTensorLayout> layouts;
  const std::int64_t rg = std::min(shape.rank, shape.h), ra = std::min(shape.rank, shape.i);
  for (std::int64_t l : shape.layers) {
    for (std::int64_t e = 0; e < shape.experts; ++e) {
      for (SafetensorsTensorLayout& t :
           expert_layouts(l, static_cast<std::size_t>(e), shape.h, rg, shape.i, ra)) {
        layouts.push_back(std::move(t));
      }
    }
  }
  const std::size_t lambdas = shape.lambda_per_layer ? shape.layers.size() : 1;
  layouts.push_back({"lambda", DType::kF32, {static_cast<std::int64_t>(lambdas)}});
  layouts.push_back({"temperature", DType::kF32, {1}});
  // the fingerprint is always 16 hex digits, so its value does not change the size
  return safetensors_file_bytes(
      layouts, file_metadata(0, shape.layers, shape.rank, shape.fisher, shape.prior_mean, lambdas));
}

Posterior read_posterior_file(const std::filesystem::path& path, std::uint64_t model_fingerprint) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  Reader r{path, {}};
  for (const TensorView& t : file.tensors()) r.by_name[t.name] = &t;
  const auto& meta = file.metadata();
  auto get = [&](const std::string& key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end()) r.fail("metadata '" + key + "' is missing (not a vkmoe posterior file?)");
    return it->second;
  };
  if (get("format") != kFormatName) {
    r.fail("metadata 'format' is '" + get("format") + "', expected '" + kFormatName + "'");
  }
  if (get("format_version") != std::to_string(kPosteriorFormatVersion)) {
    r.fail("format version " + get("format_version") + " is not supported (this vkmoe reads " +
           std::to_string(kPosteriorFormatVersion) + ")");
  }
  if (get("model_fingerprint") != fingerprint_hex(model_fingerprint)) {
    r.fail("posterior was fitted for the model with fingerprint " + get("model_fingerprint") +
           ", but this model's fingerprint is " + fingerprint_hex(model_fingerprint) +
           " (another model, size or dtype); fit a posterior for this model");
  }

  Posterior p;
  p.model_fingerprint = model_fingerprint;
  p.rank = parse_int(r, "rank", get("rank"));
  try {
    p.fisher = parse_fisher_type(get("fisher"));
    p.prior_mean = parse_prior_mean(get("prior_mean"));
  } catch (const BayesError& e) {
    r.fail(std::string("metadata: ") + e.what());
  }
  std::string_view list = get("layers");
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    LayerPosterior l;
    l.layer = parse_int(r, "layers", list.substr(0, comma));
    p.layers.push_back(std::move(l));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  for (LayerPosterior& l : p.layers) {
    for (std::size_t e = 0; r.by_name.contains(expert_prefix(l.layer, e) + "qg"); ++e) {
      const std::string prefix = expert_prefix(l.layer, e);
      KronExpertFactors f;
      const auto qg = r.shape_of(prefix + "qg", 2), qa = r.shape_of(prefix + "qa", 2);
      f.g.n = qg[0];
      f.g.vectors = r.f32(prefix + "qg", qg);
      f.g.values = r.f32(prefix + "lg", {qg[1]});
      f.a.n = qa[0];
      f.a.vectors = r.f32(prefix + "qa", qa);
      f.a.values = r.f32(prefix + "la", {qa[1]});
      const TensorView& m = r.tensor(prefix + "m", DType::kI64);
      if (m.shape != std::vector<std::int64_t>{1}) r.fail("tensor '" + prefix + "m' must be [1]");
      std::int64_t tokens = 0;
      std::memcpy(&tokens, m.bytes.data(), sizeof tokens);
      f.tokens = static_cast<double>(tokens);
      l.experts.push_back(std::move(f));
    }
    if (l.experts.empty()) r.fail("layer " + std::to_string(l.layer) + " has no experts");
  }
  const auto lambda_shape = r.shape_of("lambda", 1);
  if (lambda_shape[0] != 1 && lambda_shape[0] != static_cast<std::int64_t>(p.layers.size())) {
    r.fail("tensor 'lambda' has " + std::to_string(lambda_shape[0]) + " entries for " +
           std::to_string(p.layers.size()) + " layers, expected one, or one per layer");
  }
  std::size_t expected_tensors = 2;  // lambda, temperature
  for (const LayerPosterior& l : p.layers) expected_tensors += 5 * l.experts.size();
  if (r.by_name.size() != expected_tensors) {
    // e.g. experts 0, 1 and 3 of a layer: expert 3 would otherwise be dropped without a word
    r.fail("holds " + std::to_string(r.by_name.size()) + " tensors, but its layers and experts " +
           "account for " + std::to_string(expected_tensors) +
           " (an expert missing from a layer's numbering, or tensors of another kind)");
  }
  p.prior_precision = r.f32("lambda", lambda_shape);
  p.temperature = r.f32("temperature", {1})[0];
  try {
    check_for_writing(p);
  } catch (const BayesError& e) {
    r.fail(e.what());
  }
  return p;
}

}  // namespace vkmoe::bayes
