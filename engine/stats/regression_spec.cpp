#include "engine/stats/regression_spec.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

using nlohmann::json;

class SpecReader {
 public:
  explicit SpecReader(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw Error(source_ + ": " + field + ": " + message);
  }

  const json& member(const json& object, const std::string& path, const char* key) const {
    const auto found = object.find(key);
    if (found == object.end()) fail(path + key, "missing");
    return *found;
  }

  double number(const json& value, const std::string& field) const {
    if (!value.is_number()) fail(field, "expected a number, got " + describe(value));
    const double x = value.get<double>();
    if (!std::isfinite(x)) fail(field, "not finite");
    return x;
  }

  uint32_t count(const json& value, const std::string& field, uint32_t low, uint32_t high) const {
    if (!value.is_number_integer()) fail(field, "expected an integer, got " + describe(value));
    const int64_t x = value.get<int64_t>();
    if (x < low || x > high) {
      fail(field, "must be in " + std::to_string(low) + ".." + std::to_string(high) + ", got " +
                      std::to_string(x));
    }
    return static_cast<uint32_t>(x);
  }

  std::vector<double> vector(const json& value, const std::string& field, uint32_t size) const {
    if (!value.is_array()) fail(field, "expected an array of numbers, got " + describe(value));
    if (value.size() != size) {
      fail(field, "expected " + std::to_string(size) + " number" + (size == 1 ? "" : "s") +
                      " (dimension), got " + std::to_string(value.size()));
    }
    std::vector<double> out;
    for (size_t i = 0; i < value.size(); ++i) {
      out.push_back(number(value[i], field + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  void only_keys(const json& object, const std::string& path,
                 std::initializer_list<const char*> allowed) const {
    const std::set<std::string> names(allowed.begin(), allowed.end());
    for (const auto& [key, value] : object.items()) {
      if (!names.count(key)) fail(path + key, "unknown field");
    }
  }

  static std::string describe(const json& value) {
    std::string text = value.dump();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return std::string(value.type_name()) + " " + text;
  }

 private:
  std::string source_;
};

}  // namespace

ExpertFamily parse_expert_family(std::string_view name) {
  for (ExpertFamily family : {ExpertFamily::linear, ExpertFamily::polynomial, ExpertFamily::sigmoid,
                              ExpertFamily::tanh}) {
    if (family_name(family) == name) return family;
  }
  throw Error("unknown expert family '" + std::string(name) +
              "' (expected linear, polynomial, sigmoid or tanh)");
}

RegressionSpec parse_regression_spec(std::string_view json_text, std::string_view source) {
  const SpecReader reader(source);
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& error) {
    throw Error(std::string(source) + ": not valid JSON (byte " + std::to_string(error.byte) +
                "): " + error.what());
  }
  if (!root.is_object()) reader.fail("(top level)", "expected an object");
  reader.only_keys(root, "", {"expert", "degree", "dimension", "box", "noise_sigma", "experts"});

  RegressionSpec spec;
  MoeModel& truth = spec.truth;
  const json& expert = reader.member(root, "", "expert");
  if (!expert.is_string())
    reader.fail("expert", "expected a string, got " + SpecReader::describe(expert));
  try {
    truth.family = parse_expert_family(expert.get<std::string>());
  } catch (const Error& error) {
    reader.fail("expert", error.what());
  }
  if (truth.family == ExpertFamily::polynomial) {
    truth.degree = reader.count(reader.member(root, "", "degree"), "degree", 1, 8);
  } else if (root.contains("degree")) {
    reader.fail("degree", "only polynomial experts have a degree");
  }
  truth.dimension =
      reader.count(reader.member(root, "", "dimension"), "dimension", 1, kMaxDimension);

  const std::vector<double> box = reader.vector(reader.member(root, "", "box"), "box", 2);
  if (!(box[0] < box[1])) reader.fail("box", "low must be below high");
  spec.box_low = box[0];
  spec.box_high = box[1];
  spec.noise_sigma = reader.number(reader.member(root, "", "noise_sigma"), "noise_sigma");
  if (spec.noise_sigma < 0) reader.fail("noise_sigma", "must not be negative");

  const json& experts = reader.member(root, "", "experts");
  if (!experts.is_array() || experts.empty() || experts.size() > kMaxExperts) {
    reader.fail("experts", "expected an array of 1.." + std::to_string(kMaxExperts) + " objects");
  }
  const uint32_t d = truth.dimension;
  for (size_t i = 0; i < experts.size(); ++i) {
    const std::string path = "experts[" + std::to_string(i) + "].";
    const json& e = experts[i];
    if (!e.is_object()) reader.fail(path.substr(0, path.size() - 1), "expected an object");
    reader.only_keys(e, path, {"beta1", "beta0", "a", "b"});
    ExpertAtom atom;
    atom.gate_slope = reader.vector(reader.member(e, path, "beta1"), path + "beta1", d);
    atom.gate_bias = reader.number(reader.member(e, path, "beta0"), path + "beta0");
    atom.expert_slope = reader.vector(reader.member(e, path, "a"), path + "a", d);
    atom.expert_bias = reader.number(reader.member(e, path, "b"), path + "b");
    truth.atoms.push_back(std::move(atom));
  }
  return spec;
}

RegressionSpec load_regression_spec(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_regression_spec(text.str(), path.string());
}

}  // namespace vkmoe::stats
