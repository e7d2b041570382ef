#include "loaders/gguf.h"

#include <gtest/gtest.h>

#include <cstring>

#include "loaders/load_error.h"
#include "tests/loaders/checkpoint_writers.h"
#include "tests/loaders/gguf_writer.h"

namespace vkmoe {
namespace {

using test::GgufWriter;
using V = std::vector<std::int64_t>;

std::vector<std::byte> filled(std::size_t n, std::uint8_t start = 1) {
  std::vector<std::byte> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(start + i);
  return b;
}

void expect_error(const std::vector<std::byte>& file, const std::string& needle) {
  try {
    GgufFile::parse(file, "m.gguf");
    FAIL() << "no error; expected: " << needle;
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
    EXPECT_EQ(std::string(e.what()).rfind("m.gguf: ", 0), 0u) << e.what();
  }
}

TEST(Gguf, EveryMetadataType) {
  GgufWriter w;
  w.kv<std::uint8_t>("u8", GgufWriter::U8, 200);
  w.kv<std::int8_t>("i8", GgufWriter::I8, -5);
  w.kv<std::uint16_t>("u16", GgufWriter::U16, 60000);
  w.kv<std::int16_t>("i16", GgufWriter::I16, -30000);
  w.kv<std::uint32_t>("u32", GgufWriter::U32, 4000000000u);
  w.kv<std::int32_t>("i32", GgufWriter::I32, -2000000000);
  w.kv<float>("f32", GgufWriter::F32, 1.5f);
  w.kv_bool("bool", true);
  w.kv_string("str", "héllo");
  w.kv<std::uint64_t>("u64", GgufWriter::U64, 1ull << 40);
  w.kv<std::int64_t>("i64", GgufWriter::I64, -(1ll << 40));
  w.kv<double>("f64", GgufWriter::F64, 0.25);
  w.kv_array<float>("arr.f32", GgufWriter::F32, {1.0f, -2.0f});
  w.kv_array<std::int32_t>("arr.i32", GgufWriter::I32, {7, -8, 9});
  w.kv_strings("arr.str", {"a", "", "ccc"});
  {  // array of two arrays of uint8
    std::vector<std::byte> b;
    GgufWriter::put<std::uint32_t>(b, GgufWriter::ARRAY);
    GgufWriter::put<std::uint64_t>(b, 2);
    for (int k = 0; k < 2; ++k) {
      GgufWriter::put<std::uint32_t>(b, GgufWriter::U8);
      GgufWriter::put<std::uint64_t>(b, 3);
      for (int i = 0; i < 3; ++i) b.push_back(static_cast<std::byte>(i));
    }
    w.kv_raw("arr.nested", GgufWriter::ARRAY, b);
  }
  const auto file = w.build();
  const GgufFile f = GgufFile::parse(file, "m.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 16u);
  EXPECT_EQ(f.find("u8")->as_int(), 200);
  EXPECT_EQ(f.find("i8")->as_int(), -5);
  EXPECT_EQ(f.find("u16")->as_int(), 60000);
  EXPECT_EQ(f.find("i16")->as_int(), -30000);
  EXPECT_EQ(f.find("u32")->as_int(), 4000000000ll);
  EXPECT_EQ(f.find("i32")->as_int(), -2000000000);
  EXPECT_EQ(f.find("f32")->as_number(), 1.5);
  EXPECT_EQ(f.find("bool")->as_bool(), true);
  EXPECT_EQ(f.find("str")->as_string(), "héllo");
  EXPECT_EQ(f.find("u64")->as_int(), 1ll << 40);
  EXPECT_EQ(f.find("i64")->as_int(), -(1ll << 40));
  EXPECT_EQ(f.find("f64")->as_number(), 0.25);
  EXPECT_EQ(f.find("f64")->type, GgufType::kF64);
  EXPECT_FALSE(f.find("str")->as_int().has_value());
  EXPECT_EQ(f.floats("arr.f32"), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(f.ints("arr.i32"), (std::vector<std::int32_t>{7, -8, 9}));
  EXPECT_EQ(f.strings("arr.str"), (std::vector<std::string>{"a", "", "ccc"}));
  ASSERT_NE(f.find("arr.nested")->as_array(), nullptr);
  EXPECT_EQ(f.find("arr.nested")->as_array()->type, GgufType::kArray);
  EXPECT_EQ(f.find("arr.nested")->as_array()->count, 2u);
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_TRUE(f.tensors().empty());
}

TEST(Gguf, TensorsShapeReversedAndAligned) {
  GgufWriter w;
  w.set_alignment(64);
  w.kv_string("general.architecture", "test");
  w.tensor("a", {3, 2}, GgufWriter::T_F32, filled(24));
  w.tensor("b", {32, 2}, GgufWriter::T_Q8_0, filled(68, 7));
  w.tensor("c", {256}, GgufWriter::T_Q4_K, filled(144));
  w.tensor("d", {4}, GgufWriter::T_BF16, filled(8));
  w.tensor("e", {32}, GgufWriter::T_Q4_0, filled(18));
  w.tensor("f", {2, 1, 1, 2}, GgufWriter::T_F16, filled(8));
  const auto file = w.build(2);  // v2 has the same layout
  const GgufFile f = GgufFile::parse(file, "m.gguf");
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 6u);
  const TensorView* a = f.find_tensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (V{2, 3}));
  EXPECT_EQ(a->dtype, DType::kF32);
  EXPECT_EQ(a->bytes.size(), 24u);
  EXPECT_EQ(a->file_offset, f.data_offset());
  EXPECT_EQ(a->bytes.data(), file.data() + f.data_offset());  // zero-copy
  const TensorView* b = f.find_tensor("b");
  EXPECT_EQ(b->shape, (V{2, 32}));
  EXPECT_EQ(b->dtype, DType::kQ8_0);
  EXPECT_EQ(b->file_offset, f.data_offset() + 64);
  EXPECT_EQ(std::to_integer<int>(b->bytes[0]), 7);
  EXPECT_EQ(f.find_tensor("c")->dtype, DType::kQ4_K);
  EXPECT_EQ(f.find_tensor("c")->bytes.size(), 144u);
  EXPECT_EQ(f.find_tensor("d")->dtype, DType::kBF16);
  EXPECT_EQ(f.find_tensor("e")->dtype, DType::kQ4_0);
  EXPECT_EQ(f.find_tensor("f")->shape, (V{2, 1, 1, 2}));
}

TEST(Gguf, OpenMapsTheFile) {
  GgufWriter w;
  w.tensor("a", {4}, GgufWriter::T_F32, filled(16));
  test::TempDir dir;
  const auto p = dir.write("m.gguf", w.build());
  const GgufFile f = GgufFile::open(p);
  EXPECT_EQ(f.name(), p.string());
  EXPECT_EQ(std::to_integer<int>(f.find_tensor("a")->bytes[15]), 16);
}

TEST(GgufErrors, Header) {
  expect_error(filled(10), "m.gguf: file of 10 bytes is too short for the GGUF header (24 bytes)");
  auto f = GgufWriter().build();
  f[0] = std::byte{'X'};
  expect_error(f, "offset 0: magic is 'XGUF', not 'GGUF'");
  expect_error(GgufWriter().build(1), "offset 4: version 1 is not supported (GGUF v2 and v3 are)");
  expect_error(GgufWriter().build(0x03000000), "offset 4: big-endian GGUF files are not supported");
  f = GgufWriter().build();
  f[8 + 7] = std::byte{0x7F};  // tensor count ≈ 9e18
  expect_error(
      f, "offset 8: tensor count 9151314442816847872 exceeds what a file of 32 bytes can hold");
  f = GgufWriter().build();
  f[16 + 4] = std::byte{1};  // metadata count 2^32
  expect_error(f, "offset 16: metadata count 4294967296 exceeds what a file of 32 bytes can hold");
}

TEST(GgufErrors, MetadataStrings) {
  GgufWriter w;
  w.kv_string("general.name", "abc");
  auto f = w.build();
  // the value's length field sits after the key (8 + 12 bytes) and the type (4)
  const std::size_t len_at = 24 + 8 + 12 + 4;
  const std::uint64_t huge = 9000000000000000000ull;
  std::memcpy(f.data() + len_at, &huge, 8);
  expect_error(f,
               "offset 48: metadata key 'general.name': string length 9000000000000000000 runs "
               "past the end of the file (" +
                   std::to_string(f.size()) + " bytes)");
  f = w.build();
  std::memcpy(f.data() + 24, &huge, 8);  // the key's own length
  expect_error(f,
               "offset 24: metadata key #0: string length 9000000000000000000 runs past the end");
  f = w.build();
  f.resize(24 + 8 + 5);
  f.resize(40, std::byte{0});  // cut inside the key, padded so the count check passes
  expect_error(f, "metadata key");
}

TEST(GgufErrors, MetadataValues) {
  GgufWriter w;
  w.kv<std::uint8_t>("k", 13, 0);
  expect_error(w.build(), "offset 24: metadata key 'k': unknown value type 13");
  GgufWriter b;
  b.kv<std::uint8_t>("flag", GgufWriter::BOOL, 7);
  expect_error(b.build(), "metadata key 'flag': bool value 7 is not 0 or 1");
  GgufWriter d;
  d.kv_u32("x", 1);
  d.kv_u32("x", 2);
  expect_error(d.build(), "duplicate metadata key 'x'");
  GgufWriter t;
  t.kv<std::uint32_t>("short", GgufWriter::U64, 1);  // 4 bytes where 8 are read
  auto cut = t.build();
  cut.resize(24 + 8 + 5 + 4 + 4);  // drop the alignment padding: the file ends there
  expect_error(cut, "offset 41: metadata key 'short': needs 8 bytes, the file ends after 4");
}

TEST(GgufErrors, Arrays) {
  {
    std::vector<std::byte> v;
    GgufWriter::put<std::uint32_t>(v, GgufWriter::U32);
    GgufWriter::put<std::uint64_t>(v, 1ull << 60);
    GgufWriter w;
    w.kv_raw("tokenizer.ggml.scores", GgufWriter::ARRAY, v);
    expect_error(w.build(),
                 "metadata key 'tokenizer.ggml.scores': array of 1152921504606846976 "
                 "uint32 elements runs past the end of the file");
  }
  {
    std::vector<std::byte> v;
    GgufWriter::put<std::uint32_t>(v, GgufWriter::STRING);
    GgufWriter::put<std::uint64_t>(v, 2);
    GgufWriter::put_string(v, "ok");
    GgufWriter::put<std::uint64_t>(v, 1000);  // second string claims 1000 bytes
    GgufWriter::put<std::uint64_t>(v, 0);
    GgufWriter w;
    w.kv_raw("tokenizer.ggml.tokens", GgufWriter::ARRAY, v);
    expect_error(w.build(),
                 "metadata key 'tokenizer.ggml.tokens'[1]: string length 1000 runs past "
                 "the end of the file");
  }
  {
    std::vector<std::byte> v;
    GgufWriter::put<std::uint32_t>(v, 77);
    GgufWriter::put<std::uint64_t>(v, 0);
    GgufWriter w;
    w.kv_raw("a", GgufWriter::ARRAY, v);
    expect_error(w.build(), "metadata key 'a': unknown array element type 77");
  }
  {
    std::vector<std::byte> v;  // arrays nested 4 deep
    for (int i = 0; i < 4; ++i) {
      GgufWriter::put<std::uint32_t>(v, GgufWriter::ARRAY);
      GgufWriter::put<std::uint64_t>(v, 1);
    }
    GgufWriter::put<std::uint32_t>(v, GgufWriter::U8);
    GgufWriter::put<std::uint64_t>(v, 0);
    GgufWriter w;
    w.kv_raw("deep", GgufWriter::ARRAY, v);
    expect_error(w.build(), "metadata key 'deep'[0][0][0]: arrays nested deeper than 3");
  }
  GgufWriter w;
  w.kv_array<float>("f", GgufWriter::F32, {1.0f});
  const auto file = w.build();
  const GgufFile f = GgufFile::parse(file, "m.gguf");
  try {
    f.strings("f");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_STREQ(e.what(),
                 "m.gguf: metadata key 'f' is an array of float32, expected an array of string");
  }
  EXPECT_THROW(f.ints("nope"), LoadError);
}

TEST(GgufErrors, Alignment) {
  GgufWriter w;
  w.kv<std::uint64_t>("general.alignment", GgufWriter::U64, 32);
  expect_error(w.build(), "metadata key 'general.alignment' is uint64, expected uint32");
  GgufWriter z;
  z.kv_u32("general.alignment", 48);
  expect_error(z.build(), "metadata key 'general.alignment' is 48, not a power of two");
  GgufWriter o;
  o.tensor_at("t", {4}, GgufWriter::T_F32, 8);
  expect_error(o.build(), "tensor 't': data offset 8 is not a multiple of the alignment 32");
}

TEST(GgufErrors, TensorInfos) {
  GgufWriter dims;
  dims.tensor_at("t", {1, 1, 1, 1, 1}, GgufWriter::T_F32, 0);
  expect_error(dims.build(), "tensor 't': 5 dimensions, expected 1 to 4");
  GgufWriter big;
  big.tensor_at("t", {1ull << 40, 1ull << 40}, GgufWriter::T_F32, 0);
  expect_error(big.build(), "tensor 't': shape has more elements than fit in 63 bits");
  GgufWriter bytes;
  bytes.tensor_at("t", {1ull << 62}, GgufWriter::T_F32, 0);
  expect_error(bytes.build(), "tensor 't': shape needs more than 2^64 bytes");
  GgufWriter q6;
  q6.tensor_at("t", {256}, GgufWriter::T_Q6_K, 0);
  expect_error(q6.build(),
               "tensor 't': type 14 (Q6_K) is not supported (supported: F32, F16, "
               "BF16, Q8_0, Q4_0, Q4_K)");
  GgufWriter bad;
  bad.tensor_at("t", {256}, 99, 0);
  expect_error(bad.build(), "tensor 't': type 99 is not a ggml type");
  GgufWriter block;
  block.tensor_at("t", {48}, GgufWriter::T_Q8_0, 0);
  expect_error(block.build(),
               "tensor 't': first dimension 48 is not a multiple of the Q8_0 block of 32");
  GgufWriter name;
  name.tensor_at(std::string(300, 'n'), {1}, GgufWriter::T_F32, 0);
  expect_error(name.build(), "tensor #0: name of 300 bytes is longer than 256");
}

TEST(GgufErrors, TensorData) {
  GgufWriter past;
  past.tensor("a", {4}, GgufWriter::T_F32, filled(16));
  past.tensor_at("b", {8}, GgufWriter::T_F32, 32);
  expect_error(past.build(), "tensor 'b': data [32, 64) ends past the data section of 16 bytes");
  GgufWriter wrap;
  wrap.tensor_at("b", {8}, GgufWriter::T_F32, 0xFFFFFFFFFFFFFFE0ull);
  expect_error(wrap.build(),
               "tensor 'b': data [18446744073709551584, 18446744073709551615) ends past");
  GgufWriter overlap;
  overlap.tensor("a", {16}, GgufWriter::T_F32, filled(64));
  overlap.tensor_at("b", {4}, GgufWriter::T_F32, 32);
  expect_error(overlap.build(), "tensor 'b': data [32, 48) overlaps tensor 'a' [0, 64)");
  GgufWriter dup;
  dup.tensor("a", {4}, GgufWriter::T_F32, filled(16));
  dup.tensor("a", {4}, GgufWriter::T_F32, filled(16));
  expect_error(dup.build(), "duplicate tensor name 'a'");
  GgufWriter cut;
  cut.tensor("a", {4}, GgufWriter::T_F32, filled(16));
  auto f = cut.build();
  f.resize(f.size() - 20);  // the data section would start past the end
  expect_error(f, "tensor data would start at");
}

}  // namespace
}  // namespace vkmoe
