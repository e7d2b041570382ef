// Tiny GGUF files written by the tests, from the GGUF spec (not from the reader).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vkmoe::test {

class GgufWriter {
 public:
  // value types of the spec
  enum : std::uint32_t { U8 = 0, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 };
  // ggml tensor types
  enum : std::uint32_t {
    T_F32 = 0,
    T_F16 = 1,
    T_Q4_0 = 2,
    T_Q8_0 = 8,
    T_Q4_K = 12,
    T_Q6_K = 14,
    T_BF16 = 30
  };

  template <typename T>
  static void put(std::vector<std::byte>& out, T v) {
    std::byte b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  static void put_string(std::vector<std::byte>& out, std::string_view s) {
    put<std::uint64_t>(out, s.size());
    for (char c : s) out.push_back(static_cast<std::byte>(c));
  }

  // A key with a raw, already-encoded value.
  void kv_raw(std::string_view key, std::uint32_t type, const std::vector<std::byte>& value) {
    put_string(kv_, key);
    put<std::uint32_t>(kv_, type);
    kv_.insert(kv_.end(), value.begin(), value.end());
    ++n_kv_;
  }
  template <typename T>
  void kv(std::string_view key, std::uint32_t type, T v) {
    std::vector<std::byte> b;
    put<T>(b, v);
    kv_raw(key, type, b);
  }
  void kv_u32(std::string_view key, std::uint32_t v) { kv(key, U32, v); }
  void kv_f32(std::string_view key, float v) { kv(key, F32, v); }
  void kv_bool(std::string_view key, bool v) { kv(key, BOOL, static_cast<std::uint8_t>(v)); }
  void kv_string(std::string_view key, std::string_view v) {
    std::vector<std::byte> b;
    put_string(b, v);
    kv_raw(key, STRING, b);
  }
  void kv_strings(std::string_view key, const std::vector<std::string>& v) {
    std::vector<std::byte> b;
    put<std::uint32_t>(b, STRING);
    put<std::uint64_t>(b, v.size());
    for (const auto& s : v) put_string(b, s);
    kv_raw(key, ARRAY, b);
  }
  template <typename T>
  void kv_array(std::string_view key, std::uint32_t elem_type, const std::vector<T>& v) {
    std::vector<std::byte> b;
    put<std::uint32_t>(b, elem_type);
    put<std::uint64_t>(b, v.size());
    for (const T& x : v) put<T>(b, x);
    kv_raw(key, ARRAY, b);
  }

  // `ne` in GGUF order (innermost first). Data is placed at the next aligned offset.
  void tensor(std::string_view name, std::vector<std::uint64_t> ne, std::uint32_t type,
              const std::vector<std::byte>& data) {
    while (data_.size() % alignment_ != 0) data_.push_back(std::byte{0});
    tensor_at(name, ne, type, data_.size());
    data_.insert(data_.end(), data.begin(), data.end());
  }
  // A tensor info with an explicit offset and no data added.
  void tensor_at(std::string_view name, std::vector<std::uint64_t> ne, std::uint32_t type,
                 std::uint64_t offset) {
    put_string(ti_, name);
    put<std::uint32_t>(ti_, static_cast<std::uint32_t>(ne.size()));
    for (auto d : ne) put<std::uint64_t>(ti_, d);
    put<std::uint32_t>(ti_, type);
    put<std::uint64_t>(ti_, offset);
    ++n_tensors_;
  }

  void set_alignment(std::uint32_t a) {
    alignment_ = a;
    kv_u32("general.alignment", a);
  }

  std::vector<std::byte> build(std::uint32_t version = 3) const {
    std::vector<std::byte> out;
    for (char c : std::string_view("GGUF")) out.push_back(static_cast<std::byte>(c));
    put<std::uint32_t>(out, version);
    put<std::uint64_t>(out, n_tensors_);
    put<std::uint64_t>(out, n_kv_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    out.insert(out.end(), ti_.begin(), ti_.end());
    while (out.size() % alignment_ != 0) out.push_back(std::byte{0});
    out.insert(out.end(), data_.begin(), data_.end());
    return out;
  }

 private:
  std::vector<std::byte> kv_, ti_, data_;
  std::uint64_t n_kv_ = 0, n_tensors_ = 0;
  std::uint32_t alignment_ = 32;
};

}  // namespace vkmoe::test
