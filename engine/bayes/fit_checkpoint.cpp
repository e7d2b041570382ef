#include "engine/bayes/fit_checkpoint.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <map>
#include <utility>

#include "engine/bayes/model_fingerprint.h"
#include "loaders/load_error.h"
#include "loaders/safetensors.h"
#include "loaders/safetensors_writer.h"

namespace vkmoe::bayes {

namespace {

constexpr const char* kFormat = "vkmoe-laplace-fit-checkpoint";
constexpr const char* kVersion = "1";

std::string prefix(std::int64_t layer, std::size_t expert) {
  return "layers." + std::to_string(layer) + ".experts." + std::to_string(expert) + ".";
}

std::vector<std::int64_t> bits_of(const std::vector<double>& v) {
  std::vector<std::int64_t> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = std::bit_cast<std::int64_t>(v[k]);
  return out;
}

std::string hex_bits(double x) {
  return fingerprint_hex(std::bit_cast<std::uint64_t>(x));
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string out;
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? "," : "") + std::to_string(v[k]);
  return out;
}

class Reader {
 public:
  explicit Reader(const std::filesystem::path& path)
      : path_(path), file_(SafetensorsFile::open(path)) {
    for (const TensorView& t : file_.tensors()) views_[t.name] = &t;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw LoadError(path_.string() + ": fit checkpoint: " + what);
  }

  const std::string& meta(const std::string& key) const {
    const auto it = file_.metadata().find(key);
    if (it == file_.metadata().end()) fail("metadata '" + key + "' missing");
    return it->second;
  }

  std::uint64_t meta_u64(const std::string& key, int base) const {
    const std::string& text = meta(key);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      fail("metadata '" + key + "' = '" + text + "' is not a number");
    }
    return v;
  }

  std::vector<std::int64_t> meta_list(const std::string& key) const {
    std::vector<std::int64_t> out;
    const std::string& text = meta(key);
    std::size_t begin = 0;
    while (begin < text.size()) {
      std::size_t end = text.find(',', begin);
      if (end == std::string::npos) end = text.size();
      std::int64_t v = 0;
      const auto [stop, ec] = std::from_chars(text.data() + begin, text.data() + end, v);
      if (ec != std::errc() || stop != text.data() + end) fail("metadata '" + key + "' is bad");
      out.push_back(v);
      begin = end + 1;
    }
    return out;
  }

  // An I64 tensor of `count` entries (count < 0: any), its values.
  std::vector<std::int64_t> i64(const std::string& name, std::int64_t count) const {
    const auto it = views_.find(name);
    if (it == views_.end()) fail("tensor '" + name + "' missing");
    const TensorView& t = *it->second;
    if (t.dtype != DType::kI64 || t.shape.size() != 1 || (count >= 0 && t.numel() != count)) {
      fail("tensor '" + name + "' has the wrong dtype or shape");
    }
    std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
    if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), v.size() * sizeof(std::int64_t));
    return v;
  }

  std::vector<double> f64(const std::string& name, std::int64_t count) const {
    const std::vector<std::int64_t> bits = i64(name, count);
    std::vector<double> v(bits.size());
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = std::bit_cast<double>(bits[k]);
    return v;
  }

 private:
  std::filesystem::path path_;
  SafetensorsFile file_;
  std::map<std::string, const TensorView*> views_;
};

LowRankFactor read_factor(const Reader& r, const std::string& name, std::int64_t n,
                          std::int64_t rank, std::int64_t chunks, double dropped) {
  EigenPairs pairs;
  pairs.n = n;
  pairs.values = r.f64(name + ".values", -1);
  pairs.vectors = r.f64(name + ".vectors", n * static_cast<std::int64_t>(pairs.values.size()));
  try {
    return LowRankFactor::restore(n, rank, std::move(pairs), chunks, dropped);
  } catch (const std::exception& error) {
    r.fail(error.what());
  }
}

}  // namespace

void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpointHeader& header,
                          const std::vector<std::vector<ExpertFactorStream>>& streams) {
  SafetensorsWriter w;
  for (std::size_t t = 0; t < streams.size(); ++t) {
    for (std::size_t e = 0; e < streams[t].size(); ++e) {
      const ExpertFactorStream& s = streams[t][e];
      const std::string p = prefix(header.layers.at(t), e);
      for (const auto& [name, f] : {std::pair{"g", &s.g()}, std::pair{"a", &s.a()}}) {
        const std::vector<std::int64_t> values = bits_of(f->pairs().values);
        const std::vector<std::int64_t> vectors = bits_of(f->pairs().vectors);
        w.add_i64(p + name + ".values", {static_cast<std::int64_t>(values.size())}, values);
        w.add_i64(p + name + ".vectors", {static_cast<std::int64_t>(vectors.size())}, vectors);
      }
      const std::int64_t state[] = {s.tokens(), s.g().chunks(), s.a().chunks(),
                                    std::bit_cast<std::int64_t>(s.g().dropped_mass()),
                                    std::bit_cast<std::int64_t>(s.a().dropped_mass())};
      w.add_i64(p + "state", {5}, state);
    }
  }
  w.set_metadata("format", kFormat);
  w.set_metadata("format_version", kVersion);
  w.set_metadata("model_fingerprint", fingerprint_hex(header.model_fingerprint));
  w.set_metadata("data_fingerprint", fingerprint_hex(header.data_fingerprint));
  w.set_metadata("settings", header.settings);
  w.set_metadata("next_example", std::to_string(header.next_example));
  w.set_metadata("log_likelihood_bits", hex_bits(header.log_likelihood));
  w.set_metadata("layers", join(header.layers));
  w.set_metadata("shape", join({header.h, header.i, header.experts, header.rank}));
  w.write(path);
}

FitCheckpoint read_fit_checkpoint(const std::filesystem::path& path) {
  const Reader r(path);
  if (r.meta("format") != kFormat || r.meta("format_version") != kVersion) {
    r.fail("format '" + r.meta("format") + "' version " + r.meta("format_version") +
           ", expected '" + kFormat + "' version " + kVersion);
  }
  FitCheckpoint c;
  FitCheckpointHeader& h = c.header;
  h.model_fingerprint = r.meta_u64("model_fingerprint", 16);
  h.data_fingerprint = r.meta_u64("data_fingerprint", 16);
  h.settings = r.meta("settings");
  h.next_example = static_cast<std::int64_t>(r.meta_u64("next_example", 10));
  h.log_likelihood = std::bit_cast<double>(r.meta_u64("log_likelihood_bits", 16));
  h.layers = r.meta_list("layers");
  const std::vector<std::int64_t> shape = r.meta_list("shape");
  if (shape.size() != 4) r.fail("metadata 'shape' must hold H, I, experts, rank");
  h.h = shape[0];
  h.i = shape[1];
  h.experts = shape[2];
  h.rank = shape[3];
  for (std::int64_t layer : h.layers) {
    std::vector<ExpertFactorStream> layer_streams;
    for (std::int64_t e = 0; e < h.experts; ++e) {
      const std::string p = prefix(layer, static_cast<std::size_t>(e));
      const std::vector<std::int64_t> state = r.i64(p + "state", 5);
      LowRankFactor g =
          read_factor(r, p + "g", h.h, h.rank, state[1], std::bit_cast<double>(state[3]));
      LowRankFactor a =
          read_factor(r, p + "a", h.i, h.rank, state[2], std::bit_cast<double>(state[4]));
      layer_streams.emplace_back(std::move(g), std::move(a), state[0]);
    }
    c.streams.push_back(std::move(layer_streams));
  }
  return c;
}

}  // namespace vkmoe::bayes
