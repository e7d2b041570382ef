// Tiny safetensors files written by the tests themselves, so the readers are checked against an
// independent writer (this one), not against themselves.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace vkmoe::test {

inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

template <typename T>
std::vector<std::byte> pod_bytes(const std::vector<T>& v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
};

inline std::string st_shape(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  // appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "x" + std::to_string()
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Header with contiguous data_offsets in the given order.
inline std::string st_header(const std::vector<StTensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool f2 = true;
    for (const auto& [k, v] : metadata) {
      h += f2 ? "\"" : ",\"";
      h += k;
      h += "\":\"";
      h += v;
      h += "\"";
      f2 = false;
    }
    h += "}";
    first = false;
  }
  std::size_t off = 0;
  for (const StTensor& t : tensors) {
    h += first ? "" : ",";
    first = false;
    h += "\"";
    h += t.name;
    h += "\":{\"dtype\":\"";
    h += t.dtype;
    h += "\",\"shape\":";
    h += st_shape(t.shape);
    h += ",\"data_offsets\":[";
    h += std::to_string(off);
    h += ",";
    h += std::to_string(off + t.data.size());
    h += "]}";
    off += t.data.size();
  }
  return h + "}";
}

// 8-byte little-endian length, header (padded with spaces to a multiple of 8), data.
inline std::vector<std::byte> st_file_raw(std::string header, std::span<const std::byte> data) {
  while (header.size() % 8 != 0) header += ' ';
  std::vector<std::byte> out(8);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  const auto hb = to_bytes(header);
  out.insert(out.end(), hb.begin(), hb.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

inline std::vector<std::byte> st_file(const std::vector<StTensor>& tensors,
                                      const std::map<std::string, std::string>& metadata = {}) {
  std::vector<std::byte> data;
  for (const StTensor& t : tensors) data.insert(data.end(), t.data.begin(), t.data.end());
  return st_file_raw(st_header(tensors, metadata), data);
}

// A fresh folder under the system temp folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vkmoe_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, std::span<const std::byte> bytes) const {
    const auto p = path_ / name;
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::filesystem::path write(const std::string& name, std::string_view text) const {
    return write(name, to_bytes(text));
  }

 private:
  std::filesystem::path path_;
};

}  // namespace vkmoe::test
