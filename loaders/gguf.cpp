#include "loaders/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "loaders/load_error.h"

namespace vkmoe {

namespace {

constexpr std::uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr std::uint64_t kMaxNameBytes = 256;  // ggml allows 64; be lenient, but bounded
constexpr int kMaxArrayNesting = 3;

// Fixed size of one element, 0 for strings and arrays.
std::uint64_t fixed_size(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    default:
      return 0;
  }
}

bool known_type(std::uint32_t t) {
  return t <= static_cast<std::uint32_t>(GgufType::kF64);
}

std::optional<DType> supported_tensor_type(std::uint32_t id) {
  switch (id) {
    case 0:
      return DType::kF32;
    case 1:
      return DType::kF16;
    case 2:
      return DType::kQ4_0;
    case 8:
      return DType::kQ8_0;
    case 12:
      return DType::kQ4_K;
    case 30:
      return DType::kBF16;
    default:
      return std::nullopt;
  }
}

class Reader {
 public:
  Reader(std::span<const std::byte> data, std::string file) : data_(data), file_(std::move(file)) {}

  [[noreturn]] void fail_at(std::uint64_t offset, const std::string& what) const {
    throw LoadError(file_ + ": offset " + std::to_string(offset) + ": " + what);
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }

  std::uint64_t pos() const { return pos_; }
  std::uint64_t remaining() const { return data_.size() - pos_; }
  std::uint64_t size() const { return data_.size(); }

  template <typename T>
  T read(const std::string& what) {
    if (remaining() < sizeof(T)) {
      fail(what + ": needs " + std::to_string(sizeof(T)) + " bytes, the file ends after " +
           std::to_string(remaining()));
    }
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string_view read_string(const std::string& what) {
    const std::uint64_t at = pos_;
    const auto n = read<std::uint64_t>(what + ": string length");
    if (n > remaining()) {
      fail_at(at, what + ": string length " + std::to_string(n) +
                      " runs past the end of the file (" + std::to_string(size()) + " bytes)");
    }
    const std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return s;
  }

  std::span<const std::byte> span_from(std::uint64_t begin) const {
    return data_.subspan(begin, pos_ - begin);
  }

  void skip(std::uint64_t n) { pos_ += n; }

  GgufValue read_value(GgufType type, const std::string& what, int depth) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufType::kU8:
        v.value = std::uint64_t{read<std::uint8_t>(what)};
        break;
      case GgufType::kU16:
        v.value = std::uint64_t{read<std::uint16_t>(what)};
        break;
      case GgufType::kU32:
        v.value = std::uint64_t{read<std::uint32_t>(what)};
        break;
      case GgufType::kU64:
        v.value = read<std::uint64_t>(what);
        break;
      case GgufType::kI8:
        v.value = std::int64_t{read<std::int8_t>(what)};
        break;
      case GgufType::kI16:
        v.value = std::int64_t{read<std::int16_t>(what)};
        break;
      case GgufType::kI32:
        v.value = std::int64_t{read<std::int32_t>(what)};
        break;
      case GgufType::kI64:
        v.value = read<std::int64_t>(what);
        break;
      case GgufType::kF32:
        v.value = double{read<float>(what)};
        break;
      case GgufType::kF64:
        v.value = read<double>(what);
        break;
      case GgufType::kBool: {
        const std::uint64_t at = pos_;
        const auto b = read<std::uint8_t>(what);
        if (b > 1) fail_at(at, what + ": bool value " + std::to_string(b) + " is not 0 or 1");
        v.value = b == 1;
        break;
      }
      case GgufType::kString:
        v.value = read_string(what);
        break;
      case GgufType::kArray:
        v.value = read_array(what, depth);
        break;
    }
    return v;
  }

  GgufArray read_array(const std::string& what, int depth) {
    const std::uint64_t at = pos_;
    if (depth >= kMaxArrayNesting) {
      fail(what + ": arrays nested deeper than " + std::to_string(kMaxArrayNesting));
    }
    const auto raw_type = read<std::uint32_t>(what + ": array type");
    if (!known_type(raw_type)) {
      fail_at(at, what + ": unknown array element type " + std::to_string(raw_type));
    }
    GgufArray a;
    a.type = static_cast<GgufType>(raw_type);
    a.count = read<std::uint64_t>(what + ": array length");
    // every element takes at least this many bytes: a count the file cannot hold is refused
    // before anything is walked or allocated
    const std::uint64_t min_bytes = a.type == GgufType::kString  ? 8
                                    : a.type == GgufType::kArray ? 12
                                                                 : fixed_size(a.type);
    if (a.count > remaining() / min_bytes) {
      fail_at(at, what + ": array of " + std::to_string(a.count) + " " +
                      std::string(gguf_type_name(a.type)) +
                      " elements runs past the end of the "
                      "file (" +
                      std::to_string(size()) + " bytes)");
    }
    const std::uint64_t begin = pos_;
    if (fixed_size(a.type) != 0) {
      skip(a.count * fixed_size(a.type));
    } else if (a.type == GgufType::kString) {
      // tokenizer arrays hold ~10^5 strings: walk them without building messages
      for (std::uint64_t i = 0; i < a.count; ++i) {
        const std::uint64_t el = pos_;
        std::uint64_t n = 0;
        if (remaining() >= 8) std::memcpy(&n, data_.data() + pos_, 8);
        if (remaining() < 8 || n > remaining() - 8) {
          fail_at(el, what + "[" + std::to_string(i) + "]: string " +
                          (remaining() < 8 ? "length is cut off" : "length " + std::to_string(n)) +
                          " runs past the end of the file (" + std::to_string(size()) + " bytes)");
        }
        pos_ += 8 + n;
      }
    } else {
      for (std::uint64_t i = 0; i < a.count; ++i) {
        (void)read_value(a.type, what + "[" + std::to_string(i) + "]", depth + 1);
      }
    }
    a.bytes = span_from(begin);
    return a;
  }

 private:
  std::span<const std::byte> data_;
  std::string file_;
  std::uint64_t pos_ = 0;
};

std::string range_string(std::uint64_t a, std::uint64_t b) {
  // built with += : GCC 12 at -O3 warns falsely (-Wrestrict) on "[" + std::to_string(...)
  std::string s = "[";
  s += std::to_string(a);
  s += ", ";
  s += std::to_string(b);
  s += ")";
  return s;
}

}  // namespace

GgufFile GgufFile::open(const std::filesystem::path& path) {
  MappedFile m = MappedFile::open(path);
  GgufFile f = parse(m.bytes(), path.string());
  f.file_ = std::move(m);  // the mapping's address does not change
  return f;
}

GgufFile GgufFile::parse(std::span<const std::byte> bytes, std::string_view file_name) {
  GgufFile f;
  f.name_ = std::string(file_name);
  f.size_ = bytes.size();
  Reader r(bytes, f.name_);
  if (bytes.size() < 24) {
    throw LoadError(f.name_ + ": file of " + std::to_string(bytes.size()) +
                    " bytes is too short for the GGUF header (24 bytes)");
  }
  const auto magic = r.read<std::uint32_t>("magic");
  if (magic != 0x46554747u) {  // "GGUF" little-endian
    std::string m(reinterpret_cast<const char*>(bytes.data()), 4);
    for (char& c : m) {
      if (c < 32 || c > 126) c = '?';
    }
    r.fail_at(0, "magic is '" + m + "', not 'GGUF'");
  }
  f.version_ = r.read<std::uint32_t>("version");
  if (f.version_ != 2 && f.version_ != 3) {
    const std::uint32_t swapped = __builtin_bswap32(f.version_);
    if (swapped == 2 || swapped == 3) r.fail_at(4, "big-endian GGUF files are not supported");
    r.fail_at(4,
              "version " + std::to_string(f.version_) + " is not supported (GGUF v2 and v3 are)");
  }
  const auto n_tensors = r.read<std::uint64_t>("tensor count");
  const auto n_kv = r.read<std::uint64_t>("metadata count");
  // smallest tensor info: 8 (name length) + 4 (dims) + 8 (one dim) + 4 (type) + 8 (offset)
  if (n_tensors > r.remaining() / 32) {
    r.fail_at(8, "tensor count " + std::to_string(n_tensors) + " exceeds what a file of " +
                     std::to_string(bytes.size()) + " bytes can hold");
  }
  // smallest key/value: 8 (key length) + 4 (type) + 1 (a uint8)
  if (n_kv > r.remaining() / 13) {
    r.fail_at(16, "metadata count " + std::to_string(n_kv) + " exceeds what a file of " +
                      std::to_string(bytes.size()) + " bytes can hold");
  }

  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::uint64_t at = r.pos();
    const std::string key(r.read_string("metadata key #" + std::to_string(i)));
    const std::string what = "metadata key '" + key + "'";
    const auto raw_type = r.read<std::uint32_t>(what + ": value type");
    if (!known_type(raw_type)) {
      r.fail_at(at, what + ": unknown value type " + std::to_string(raw_type));
    }
    GgufValue v = r.read_value(static_cast<GgufType>(raw_type), what, 0);
    if (!f.metadata_.emplace(key, std::move(v)).second) {
      r.fail_at(at, "duplicate metadata key '" + key + "'");
    }
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufType::kU32) {
      throw LoadError(f.name_ + ": metadata key 'general.alignment' is " +
                      std::string(gguf_type_name(a->type)) + ", expected uint32");
    }
    const auto al = static_cast<std::uint64_t>(*a->as_int());
    if (al == 0 || !std::has_single_bit(al)) {
      throw LoadError(f.name_ + ": metadata key 'general.alignment' is " + std::to_string(al) +
                      ", not a power of two");
    }
    f.alignment_ = al;
  }

  struct Info {
    std::uint64_t at;
    std::string name;
    std::vector<std::int64_t> shape;
    DType dtype;
    std::uint64_t offset;
    std::uint64_t bytes;
  };
  std::vector<Info> infos;
  infos.reserve(n_tensors);
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    Info t;
    t.at = r.pos();
    const std::string_view name = r.read_string("tensor #" + std::to_string(i) + " name");
    if (name.size() > kMaxNameBytes) {
      r.fail_at(t.at, "tensor #" + std::to_string(i) + ": name of " + std::to_string(name.size()) +
                          " bytes is longer than " + std::to_string(kMaxNameBytes));
    }
    t.name = std::string(name);
    const std::string what = "tensor '" + t.name + "'";
    const auto n_dims = r.read<std::uint32_t>(what + ": dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      r.fail_at(t.at, what + ": " + std::to_string(n_dims) + " dimensions, expected 1 to " +
                          std::to_string(kMaxDims));
    }
    std::vector<std::uint64_t> ne(n_dims);
    std::uint64_t numel = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = r.read<std::uint64_t>(what + ": dimension");
      const auto p = checked_mul(numel, ne[d]);
      if (!p || *p > static_cast<std::uint64_t>(INT64_MAX)) {
        r.fail_at(t.at, what + ": shape has more elements than fit in 63 bits");
      }
      numel = *p;
    }
    const auto type_id = r.read<std::uint32_t>(what + ": type");
    const auto dtype = supported_tensor_type(type_id);
    if (!dtype) {
      const std::string_view tn = ggml_type_name(type_id);
      r.fail_at(t.at, what + ": type " + std::to_string(type_id) +
                          (tn.empty() ? " is not a ggml type"
                                      : " (" + std::string(tn) + ") is not supported") +
                          " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K)");
    }
    t.dtype = *dtype;
    if (ne[0] % static_cast<std::uint64_t>(dtype_block_elems(t.dtype)) != 0) {
      r.fail_at(t.at, what + ": first dimension " + std::to_string(ne[0]) +
                          " is not a multiple of the " + std::string(dtype_name(t.dtype)) +
                          " block of " + std::to_string(dtype_block_elems(t.dtype)));
    }
    t.offset = r.read<std::uint64_t>(what + ": offset");
    if (t.offset % f.alignment_ != 0) {
      r.fail_at(t.at, what + ": data offset " + std::to_string(t.offset) +
                          " is not a multiple of the alignment " + std::to_string(f.alignment_));
    }
    const auto nbytes = dtype_bytes(t.dtype, static_cast<std::int64_t>(numel));
    if (!nbytes) r.fail_at(t.at, what + ": shape needs more than 2^64 bytes");
    t.bytes = *nbytes;
    for (auto it = ne.rbegin(); it != ne.rend(); ++it)
      t.shape.push_back(static_cast<std::int64_t>(*it));
    infos.push_back(std::move(t));
  }

  const std::uint64_t end_of_infos = r.pos();
  f.data_offset_ = (end_of_infos + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  const std::uint64_t data_bytes =
      f.data_offset_ <= bytes.size() ? bytes.size() - f.data_offset_ : 0;
  if (!infos.empty() && f.data_offset_ > bytes.size()) {
    r.fail_at(end_of_infos, "tensor data would start at " + std::to_string(f.data_offset_) +
                                ", past the end of the file (" + std::to_string(bytes.size()) +
                                " bytes)");
  }
  for (const Info& t : infos) {
    const auto end = checked_add(t.offset, t.bytes);
    if (!end || *end > data_bytes) {
      r.fail_at(t.at, "tensor '" + t.name + "': data " +
                          range_string(t.offset, end.value_or(UINT64_MAX)) +
                          " ends past the data section of " + std::to_string(data_bytes) +
                          " bytes");
    }
  }
  std::vector<const Info*> by_offset;
  for (const Info& t : infos) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Info* a, const Info* b) { return a->offset < b->offset; });
  const Info* reach = nullptr;  // the non-empty tensor that ends last so far
  for (const Info* b : by_offset) {
    if (b->bytes == 0) continue;
    if (reach != nullptr && b->offset < reach->offset + reach->bytes) {
      r.fail_at(b->at, "tensor '" + b->name + "': data " +
                           range_string(b->offset, b->offset + b->bytes) + " overlaps tensor '" +
                           reach->name + "' " +
                           range_string(reach->offset, reach->offset + reach->bytes));
    }
    if (reach == nullptr || b->offset + b->bytes > reach->offset + reach->bytes) reach = b;
  }

  f.tensors_.reserve(infos.size());
  for (Info& t : infos) {
    TensorView v;
    v.name = std::move(t.name);
    v.dtype = t.dtype;
    v.shape = std::move(t.shape);
    v.file_offset = f.data_offset_ + t.offset;
    v.bytes = bytes.subspan(v.file_offset, t.bytes);
    v.file = f.name_;
    if (!f.by_name_.emplace(v.name, f.tensors_.size()).second) {
      r.fail_at(t.at, "duplicate tensor name '" + v.name + "'");
    }
    f.tensors_.push_back(std::move(v));
  }
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const TensorView* GgufFile::find_tensor(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace vkmoe
