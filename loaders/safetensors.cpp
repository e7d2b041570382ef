#include "loaders/safetensors.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "loaders/json_guard.h"
#include "loaders/load_error.h"

namespace vkmoe {

namespace {

using nlohmann::json;

std::optional<DType> parse_dtype(std::string_view s) {
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  if (s == "I32") return DType::kI32;
  if (s == "I64") return DType::kI64;
  if (s == "U8") return DType::kU8;
  if (s == "BOOL") return DType::kBool;
  return std::nullopt;
}

std::string range_string(std::uint64_t begin, std::uint64_t end) {
  // built with += : GCC 12 at -O3 warns falsely (-Wrestrict) on "[" + std::to_string(...)
  std::string s = "[";
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += ")";
  return s;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin;
  std::uint64_t end;
};

class HeaderReader {
 public:
  HeaderReader(std::string_view file_name) : file_(file_name) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw LoadError(std::string(file_) + ": " + what);
  }
  [[noreturn]] void fail_tensor(const std::string& name, const std::string& what) const {
    fail("tensor '" + name + "' " + what);
  }

  Entry read_entry(const std::string& name, const json& v, std::uint64_t data_bytes) const {
    if (!v.is_object()) fail_tensor(name, "is not an object");
    Entry e{name, DType::kF32, {}, 0, 0};

    const auto dt = v.find("dtype");
    if (dt == v.end()) fail_tensor(name, "has no 'dtype'");
    if (!dt->is_string()) fail_tensor(name, "'dtype' is not a string");
    const auto& dts = dt->get_ref<const std::string&>();
    const auto dtype = parse_dtype(dts);
    if (!dtype) {
      fail_tensor(name, "has dtype '" + dts + "', not supported (supported: F32, F16, BF16, " +
                            "I32, I64, U8, BOOL)");
    }
    e.dtype = *dtype;

    const auto sh = v.find("shape");
    if (sh == v.end()) fail_tensor(name, "has no 'shape'");
    if (!sh->is_array()) fail_tensor(name, "'shape' is not an array");
    std::uint64_t numel = 1;
    for (std::size_t i = 0; i < sh->size(); ++i) {
      const json& d = (*sh)[i];
      if (!d.is_number_unsigned()) {
        fail_tensor(name, "shape[" + std::to_string(i) + "] is " + d.dump() +
                              ", not a non-negative integer");
      }
      const auto dim = d.get<std::uint64_t>();
      const auto prod = checked_mul(numel, dim);
      if (!prod || *prod > static_cast<std::uint64_t>(INT64_MAX)) {
        fail_tensor(name, "shape " + sh->dump() + " has more elements than fit in 64 bits");
      }
      numel = *prod;
      e.shape.push_back(static_cast<std::int64_t>(dim));
    }

    const auto off = v.find("data_offsets");
    if (off == v.end()) fail_tensor(name, "has no 'data_offsets'");
    if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned()) {
      fail_tensor(name, "'data_offsets' is " + off->dump() +
                            ", not [begin, end] with non-negative integers");
    }
    e.begin = (*off)[0].get<std::uint64_t>();
    e.end = (*off)[1].get<std::uint64_t>();
    if (e.begin > e.end) {
      fail_tensor(name, "data_offsets " + range_string(e.begin, e.end) + " begin after they end");
    }
    if (e.end > data_bytes) {
      fail_tensor(name, "data_offsets " + range_string(e.begin, e.end) +
                            " end past the data section of " + std::to_string(data_bytes) +
                            " bytes");
    }
    const auto need = dtype_bytes(e.dtype, static_cast<std::int64_t>(numel));
    if (!need || *need != e.end - e.begin) {
      fail_tensor(name, "data_offsets " + range_string(e.begin, e.end) + " hold " +
                            std::to_string(e.end - e.begin) + " bytes but " +
                            std::string(dtype_name(e.dtype)) + " " + shape_string(e.shape) +
                            " needs " + (need ? std::to_string(*need) : "more than 2^64"));
    }
    return e;
  }

 private:
  std::string_view file_;
};

}  // namespace

SafetensorsHeader parse_safetensors(std::span<const std::byte> file, std::string_view file_name) {
  HeaderReader r(file_name);
  if (file.size() < 8) {
    r.fail("file of " + std::to_string(file.size()) +
           " bytes is too short for the 8-byte header length");
  }
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(file[i]);
  if (n > kMaxSafetensorsHeaderBytes) {
    r.fail("header length " + std::to_string(n) + " exceeds the limit of " +
           std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  }
  if (n > file.size() - 8) {
    r.fail("header length " + std::to_string(n) + " runs past the end of the file (" +
           std::to_string(file.size()) + " bytes)");
  }
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, n);
  const json header = parse_untrusted_json(text, file_name, /*unique_top_level_keys=*/true);
  if (!header.is_object()) r.fail("header is not a JSON object");

  SafetensorsHeader out;
  out.data_offset = 8 + n;
  const std::uint64_t data_bytes = file.size() - out.data_offset;

  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) r.fail("'__metadata__' is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) r.fail("'__metadata__' value of '" + mk + "' is not a string");
        out.metadata.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    entries.push_back(r.read_entry(key, value, data_bytes));
  }

  // The tensors must tile the data section: sorted by begin, each starts where the previous
  // ended, and the last ends at the end of the file.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < cursor) {
      r.fail_tensor(e.name, "data_offsets " + range_string(e.begin, e.end) + " overlap tensor '" +
                                prev->name + "' " + range_string(prev->begin, prev->end));
    }
    if (e.begin > cursor) {
      r.fail("bytes " + range_string(cursor, e.begin) +
             " of the data section belong to no tensor (the next tensor is '" + e.name + "')");
    }
    cursor = e.end;
    prev = &e;
  }
  if (cursor != data_bytes) {
    r.fail("bytes " + range_string(cursor, data_bytes) +
           " at the end of the data section belong to no tensor");
  }

  out.tensors.reserve(entries.size());
  for (Entry& e : entries) {
    TensorView v;
    v.name = std::move(e.name);
    v.dtype = e.dtype;
    v.shape = std::move(e.shape);
    v.file_offset = out.data_offset + e.begin;
    v.bytes = file.subspan(v.file_offset, e.end - e.begin);
    v.file = std::string(file_name);
    out.tensors.push_back(std::move(v));
  }
  return out;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  f.file_ = MappedFile::open(path);
  f.header_ = parse_safetensors(f.file_.bytes(), path.string());
  return f;
}

}  // namespace vkmoe
