#include "loaders/safetensors_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "loaders/safetensors.h"

namespace vkmoe {
namespace {

std::filesystem::path scratch_dir(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vkmoe_st_writer_" + std::string(name) + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(SafetensorsWriter, RoundTripsThroughTheReader) {
  const auto dir = scratch_dir("round_trip");
  const auto path = dir / "t.safetensors";
  const std::vector<float> q = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, -6.5f};
  const std::vector<std::int64_t> m = {123456789012};
  SafetensorsWriter w;
  w.add_f32("layers.1.q", {3, 2}, q);
  w.add_i64("layers.1.m", {1}, m);
  w.add_f32("empty", {0}, {});
  w.set_metadata("format_version", "1");
  w.set_metadata("note", "ünïcode \"quoted\"");
  w.write(path);

  const SafetensorsFile f = SafetensorsFile::open(path);
  ASSERT_EQ(f.tensors().size(), 3u);
  const TensorView& tq = f.tensors()[0];
  EXPECT_EQ(tq.name, "layers.1.q");
  EXPECT_EQ(tq.dtype, DType::kF32);
  EXPECT_EQ(tq.shape, (std::vector<std::int64_t>{3, 2}));
  std::vector<float> back(6);
  std::memcpy(back.data(), tq.bytes.data(), 24);
  EXPECT_EQ(back, q);
  const TensorView& tm = f.tensors()[1];
  EXPECT_EQ(tm.dtype, DType::kI64);
  std::int64_t mb = 0;
  std::memcpy(&mb, tm.bytes.data(), 8);
  EXPECT_EQ(mb, m[0]);
  EXPECT_EQ(f.metadata().at("format_version"), "1");
  EXPECT_EQ(f.metadata().at("note"), "ünïcode \"quoted\"");
  // the header is padded so the data section is 8-byte aligned; no temporary is left behind
  EXPECT_EQ(tq.file_offset % 8, 0u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsWriter, ReplacesAnExistingFileWhole) {
  const auto dir = scratch_dir("replace");
  const auto path = dir / "t.safetensors";
  SafetensorsWriter big;
  big.add_f32("x", {1000}, std::vector<float>(1000, 1.0f));
  big.write(path);
  SafetensorsWriter small;
  small.add_f32("y", {2}, std::vector<float>{1, 2});
  small.write(path);
  const SafetensorsFile f = SafetensorsFile::open(path);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].name, "y");
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsWriter, RefusesBadTensorsAndNamesThePathOnFailure) {
  SafetensorsWriter w;
  w.add_f32("a", {2}, std::vector<float>{1, 2});
  EXPECT_THROW(w.add_f32("a", {1}, std::vector<float>{1}), WriteError);
  EXPECT_THROW(w.add_f32("b", {3}, std::vector<float>{1, 2}), WriteError);
  EXPECT_THROW(w.add_f32("c", {-1}, {}), WriteError);
  try {
    w.write("/nonexistent-dir/sub/p.safetensors");
    FAIL() << "write into a missing folder succeeded";
  } catch (const WriteError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/sub/p.safetensors"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vkmoe
