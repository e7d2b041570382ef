// GGUF metadata values: type names and typed access (the parsing is in gguf.cpp).
#include <cstring>

#include "loaders/gguf.h"
#include "loaders/load_error.h"

namespace vkmoe {

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::kU8:
      return "uint8";
    case GgufType::kI8:
      return "int8";
    case GgufType::kU16:
      return "uint16";
    case GgufType::kI16:
      return "int16";
    case GgufType::kU32:
      return "uint32";
    case GgufType::kI32:
      return "int32";
    case GgufType::kF32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kU64:
      return "uint64";
    case GgufType::kI64:
      return "int64";
    case GgufType::kF64:
      return "float64";
  }
  return "?";
}

std::string_view ggml_type_name(std::uint32_t id) {
  static constexpr std::string_view kNames[] = {
      "F32",     "F16",    "Q4_0",    "Q4_1",  "",       "",      "Q5_0",  "Q5_1",
      "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",   "Q5_K",  "Q6_K",  "Q8_K",
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
      "I8",      "I16",    "I32",     "I64",   "F64",    "IQ1_M", "BF16"};
  return id < std::size(kNames) ? kNames[id] : std::string_view{};
}

std::optional<std::int64_t> GgufValue::as_int() const {
  if (const auto* u = std::get_if<std::uint64_t>(&value)) {
    if (*u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
  return std::nullopt;
}

std::optional<double> GgufValue::as_number() const {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* u = std::get_if<std::uint64_t>(&value)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&value)) return *b;
  return std::nullopt;
}

std::optional<std::string_view> GgufValue::as_string() const {
  if (const auto* s = std::get_if<std::string_view>(&value)) return *s;
  return std::nullopt;
}

const GgufArray* GgufValue::as_array() const {
  return std::get_if<GgufArray>(&value);
}

namespace {

const GgufArray& array_of(const GgufFile& f, std::string_view key, GgufType want) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) throw LoadError(f.name() + ": no metadata key '" + std::string(key) + "'");
  const GgufArray* a = v->as_array();
  if (a == nullptr || a->type != want) {
    throw LoadError(f.name() + ": metadata key '" + std::string(key) + "' is " +
                    (a ? "an array of " + std::string(gguf_type_name(a->type))
                       : std::string(gguf_type_name(v->type))) +
                    ", expected an array of " + std::string(gguf_type_name(want)));
  }
  return *a;
}

template <typename T>
std::vector<T> fixed_array(const GgufArray& a) {
  std::vector<T> out(a.count);
  if (a.count > 0) std::memcpy(out.data(), a.bytes.data(), a.count * sizeof(T));
  return out;
}

}  // namespace

std::vector<std::string> GgufFile::strings(std::string_view key) const {
  const GgufArray& a = array_of(*this, key, GgufType::kString);
  std::vector<std::string> out;
  out.reserve(a.count);
  std::size_t pos = 0;
  for (std::uint64_t i = 0; i < a.count; ++i) {  // lengths were checked when the file was read
    std::uint64_t n = 0;
    std::memcpy(&n, a.bytes.data() + pos, 8);
    out.emplace_back(reinterpret_cast<const char*>(a.bytes.data() + pos + 8), n);
    pos += 8 + n;
  }
  return out;
}

std::vector<float> GgufFile::floats(std::string_view key) const {
  return fixed_array<float>(array_of(*this, key, GgufType::kF32));
}

std::vector<std::int32_t> GgufFile::ints(std::string_view key) const {
  return fixed_array<std::int32_t>(array_of(*this, key, GgufType::kI32));
}

}  // namespace vkmoe
