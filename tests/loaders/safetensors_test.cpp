#include "loaders/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "loaders/load_error.h"
#include "tests/loaders/checkpoint_writers.h"

namespace vkmoe {
namespace {

using test::st_file;
using test::st_file_raw;
using test::StTensor;
using test::to_bytes;

std::vector<std::byte> bytes_of(std::size_t n, std::uint8_t start = 0) {
  std::vector<std::byte> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(start + i);
  return b;
}

// Expects parse_safetensors to throw a LoadError whose message contains `needle`.
void expect_error(std::span<const std::byte> file, const std::string& needle) {
  try {
    parse_safetensors(file, "m.safetensors");
    FAIL() << "no error; expected: " << needle;
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
    EXPECT_EQ(std::string(e.what()).rfind("m.safetensors", 0), 0u) << e.what();
  }
}

void expect_header_error(const std::string& header, std::size_t data_bytes,
                         const std::string& needle) {
  const auto data = bytes_of(data_bytes);
  expect_error(st_file_raw(header, data), needle);
}

TEST(Safetensors, ReadsEveryDtypeShapeAndMetadata) {
  const std::vector<StTensor> ts = {
      {"a.f32", "F32", {2, 3}, bytes_of(24)},  {"b.f16", "F16", {}, bytes_of(2, 100)},
      {"c.bf16", "BF16", {4}, bytes_of(8, 7)}, {"d.i32", "I32", {1, 1}, bytes_of(4)},
      {"e.i64", "I64", {2}, bytes_of(16)},     {"f.u8", "U8", {3}, bytes_of(3, 9)},
      {"g.bool", "BOOL", {1}, bytes_of(1)},    {"h.empty", "F32", {0, 5}, {}},
  };
  const auto file = st_file(ts, {{"format", "pt"}});
  const SafetensorsHeader h = parse_safetensors(file, "m.safetensors");
  ASSERT_EQ(h.tensors.size(), ts.size());
  EXPECT_EQ(h.metadata.at("format"), "pt");
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const TensorView& v = h.tensors[i];
    EXPECT_EQ(v.name, ts[i].name);
    EXPECT_EQ(v.shape, ts[i].shape);
    ASSERT_EQ(v.bytes.size(), ts[i].data.size());
    if (!v.bytes.empty()) {
      EXPECT_EQ(std::memcmp(v.bytes.data(), ts[i].data.data(), v.bytes.size()), 0);
      // zero-copy: the view points into the buffer it was parsed from
      EXPECT_GE(v.bytes.data(), file.data());
      EXPECT_LE(v.bytes.data() + v.bytes.size(), file.data() + file.size());
      EXPECT_EQ(v.bytes.data() - file.data(), static_cast<std::ptrdiff_t>(v.file_offset));
    }
  }
  EXPECT_EQ(h.tensors[0].dtype, DType::kF32);
  EXPECT_EQ(h.tensors[1].dtype, DType::kF16);
  EXPECT_EQ(h.tensors[1].numel(), 1);
  EXPECT_EQ(h.tensors[2].dtype, DType::kBF16);
  EXPECT_EQ(h.tensors[3].dtype, DType::kI32);
  EXPECT_EQ(h.tensors[4].dtype, DType::kI64);
  EXPECT_EQ(h.tensors[5].dtype, DType::kU8);
  EXPECT_EQ(h.tensors[6].dtype, DType::kBool);
  EXPECT_EQ(h.tensors[7].numel(), 0);
}

TEST(Safetensors, TensorsOrderedByOffsetWhateverTheHeaderOrder) {
  // b's data comes first though the header lists a first
  const std::string header = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[3,5]},)"
                             R"("b":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})";
  const auto file = st_file_raw(header, bytes_of(5));
  const auto h = parse_safetensors(file, "m.safetensors");
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "b");
  EXPECT_EQ(h.tensors[1].name, "a");
  EXPECT_EQ(std::to_integer<int>(h.tensors[1].bytes[0]), 3);
}

TEST(Safetensors, EmptyHeaderObjectIsAValidEmptyFile) {
  const auto h = parse_safetensors(st_file_raw("{}", {}), "m.safetensors");
  EXPECT_TRUE(h.tensors.empty());
}

TEST(SafetensorsErrors, FileShorterThanTheLengthField) {
  expect_error(bytes_of(5), "file of 5 bytes is too short for the 8-byte header length");
}

TEST(SafetensorsErrors, HeaderLengthOverTheLimit) {
  std::vector<std::byte> f(16, std::byte{0});
  f[4] = std::byte{1};  // 2^32
  expect_error(f, "header length 4294967296 exceeds the limit of 100000000 bytes");
}

TEST(SafetensorsErrors, HeaderLengthPastTheEnd) {
  auto f = st_file_raw("{}", {});
  f[0] = std::byte{200};
  expect_error(f, "header length 200 runs past the end of the file (16 bytes)");
}

TEST(SafetensorsErrors, InvalidJson) {
  expect_header_error(R"({"a": )", 0, "offset ");
  expect_header_error(R"({"a": )", 0, "invalid JSON");
}

TEST(SafetensorsErrors, DeepJson) {
  expect_header_error(std::string(100, '[') + std::string(100, ']'), 0,
                      "offset 64: JSON nesting deeper than 64 levels");
}

TEST(SafetensorsErrors, DuplicateTensorName) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      2, "duplicate key 'a'");
}

TEST(SafetensorsErrors, HeaderNotAnObject) {
  expect_header_error("[1, 2]", 0, "header is not a JSON object");
}

TEST(SafetensorsErrors, MetadataNotAnObjectOfStrings) {
  expect_header_error(R"({"__metadata__": [1]})", 0, "'__metadata__' is not an object");
  expect_header_error(R"({"__metadata__": {"format": 3}})", 0,
                      "'__metadata__' value of 'format' is not a string");
}

TEST(SafetensorsErrors, EntryNotAnObject) {
  expect_header_error(R"({"w": 7})", 0, "tensor 'w' is not an object");
}

TEST(SafetensorsErrors, Dtype) {
  expect_header_error(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1,
                      "tensor 'w' has no 'dtype'");
  expect_header_error(R"({"w":{"dtype":1,"shape":[1],"data_offsets":[0,1]}})", 1,
                      "tensor 'w' 'dtype' is not a string");
  expect_header_error(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8,
                      "tensor 'w' has dtype 'F64', not supported (supported: F32, F16, BF16, "
                      "I32, I64, U8, BOOL)");
}

TEST(SafetensorsErrors, Shape) {
  expect_header_error(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1,
                      "tensor 'w' has no 'shape'");
  expect_header_error(R"({"w":{"dtype":"U8","shape":3,"data_offsets":[0,1]}})", 1,
                      "tensor 'w' 'shape' is not an array");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1,-2],"data_offsets":[0,1]}})", 1,
                      "tensor 'w' shape[1] is -2, not a non-negative integer");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", 1,
                      "tensor 'w' shape[0] is 1.5, not a non-negative integer");
  expect_header_error(R"({"w":{"dtype":"U8","shape":["NaN"],"data_offsets":[0,1]}})", 1,
                      "tensor 'w' shape[0] is \"NaN\", not a non-negative integer");
  expect_header_error(
      R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}})", 1,
      "tensor 'w' shape [4294967296,4294967296] has more elements than fit in 64 bits");
}

TEST(SafetensorsErrors, DataOffsets) {
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1]}})", 1, "tensor 'w' has no 'data_offsets'");
  expect_header_error(
      R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", 1,
      "tensor 'w' 'data_offsets' is [0], not [begin, end] with non-negative integers");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", 2,
                      "tensor 'w' data_offsets [2, 1) begin after they end");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 3,
                      "tensor 'w' data_offsets [0, 4) end past the data section of 3 bytes");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551615]}})",
                      3, "end past the data section of 3 bytes");
}

TEST(SafetensorsErrors, ByteSizeMustMatchDtypeTimesShape) {
  expect_header_error(R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,10]}})", 10,
                      "tensor 'w' data_offsets [0, 10) hold 10 bytes but BF16 [2, 3] needs 12");
}

TEST(SafetensorsErrors, Overlap) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                      4, "tensor 'b' data_offsets [2, 4) overlap tensor 'a' [0, 4)");
}

TEST(SafetensorsErrors, Gap) {
  expect_header_error(
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
      5, "bytes [2, 3) of the data section belong to no tensor (the next tensor is 'b')");
}

TEST(SafetensorsErrors, TrailingBytes) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 6,
                      "bytes [2, 6) at the end of the data section belong to no tensor");
}

TEST(SafetensorsFile, OpenMapsTheFile) {
  test::TempDir dir;
  const auto p = dir.write("x.safetensors", st_file({{"w", "F32", {2}, bytes_of(8)}}));
  const SafetensorsFile f = SafetensorsFile::open(p);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].file, p.string());
  EXPECT_EQ(std::to_integer<int>(f.tensors()[0].bytes[7]), 7);
}

TEST(SafetensorsFile, MissingFileNamesThePath) {
  try {
    SafetensorsFile::open("/nonexistent/dir/x.safetensors");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.safetensors: cannot open"),
              std::string::npos)
        << e.what();
  }
}

TEST(SafetensorsFile, FolderIsNotARegularFile) {
  test::TempDir dir;
  try {
    SafetensorsFile::open(dir.path());
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkmoe
