#include "loaders/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>

namespace vkmoe {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; the writer copies host memory as is");

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<std::int64_t> shape,
                            const void* data, std::size_t count, std::size_t element_bytes) {
  for (const Tensor& t : tensors_) {
    if (t.layout.name == name)
      throw WriteError("safetensors writer: tensor '" + name + "' added twice");
  }
  std::size_t elements = 1;
  for (std::int64_t d : shape) {
    if (d < 0)
      throw WriteError("safetensors writer: tensor '" + name + "' has a negative dimension");
    elements *= static_cast<std::size_t>(d);
  }
  if (elements != count) {
    throw WriteError("safetensors writer: tensor '" + name + "' has shape of " +
                     std::to_string(elements) + " elements but " + std::to_string(count) +
                     " values");
  }
  Tensor t{{std::move(name), dtype, std::move(shape)},
           std::vector<std::byte>(count * element_bytes)};
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
  tensors_.push_back(std::move(t));
}

void SafetensorsWriter::add_f32(std::string name, std::vector<std::int64_t> shape,
                                std::span<const float> data) {
  add(std::move(name), DType::kF32, std::move(shape), data.data(), data.size(), sizeof(float));
}

void SafetensorsWriter::add_i64(std::string name, std::vector<std::int64_t> shape,
                                std::span<const std::int64_t> data) {
  add(std::move(name), DType::kI64, std::move(shape), data.data(), data.size(),
      sizeof(std::int64_t));
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

namespace {

std::uint64_t data_bytes(const SafetensorsTensorLayout& t) {
  std::int64_t elements = 1;
  for (std::int64_t d : t.shape) elements *= d;
  const std::optional<std::uint64_t> bytes = dtype_bytes(t.dtype, elements);
  if (!bytes || dtype_block_elems(t.dtype) != 1) {
    throw WriteError("safetensors writer: tensor '" + t.name + "' has no plain size");
  }
  return *bytes;
}

}  // namespace

std::string safetensors_header(std::span<const SafetensorsTensorLayout> tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const SafetensorsTensorLayout& t : tensors) {
    const std::uint64_t bytes = data_bytes(t);
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

std::uint64_t safetensors_file_bytes(std::span<const SafetensorsTensorLayout> tensors,
                                     const std::map<std::string, std::string>& metadata) {
  std::uint64_t total = 8 + safetensors_header(tensors, metadata).size();
  for (const SafetensorsTensorLayout& t : tensors) total += data_bytes(t);
  return total;
}

namespace {

// Closes the descriptor and removes the temporary file unless the write got to the rename.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int fd() const { return fd_; }
  void close() {
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw std::system_error(errno, std::generic_category(), "close");
    }
    fd_ = -1;
  }
  void mark_renamed() { renamed_ = true; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool renamed_ = false;
};

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw WriteError(path.string() + ": cannot write: " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  std::vector<SafetensorsTensorLayout> layouts;
  for (const Tensor& t : tensors_) layouts.push_back(t.layout);
  const std::string text = safetensors_header(layouts, metadata_);
  const std::uint64_t header_size = text.size();

  std::filesystem::path temporary = path;
  temporary += ".tmp." + std::to_string(::getpid());
  TemporaryFile file(temporary);
  if (file.fd() < 0) {
    throw WriteError(path.string() + ": cannot create " + temporary.string() + ": " +
                     std::strerror(errno));
  }
  write_all(file.fd(), &header_size, sizeof header_size, path);
  write_all(file.fd(), text.data(), text.size(), path);
  for (const Tensor& t : tensors_) write_all(file.fd(), t.bytes.data(), t.bytes.size(), path);
  if (::fsync(file.fd()) != 0) {
    throw WriteError(path.string() + ": cannot sync to disk: " + std::strerror(errno));
  }
  try {
    file.close();
  } catch (const std::system_error& e) {
    throw WriteError(path.string() + ": cannot close: " + e.what());
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error)
    throw WriteError(path.string() + ": cannot rename from " + temporary.string() + ": " +
                     error.message());
  file.mark_renamed();
  // The rename itself is durable once the directory entry is on disk.
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace vkmoe
