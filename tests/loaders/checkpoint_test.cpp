#include "loaders/checkpoint.h"

#include <gtest/gtest.h>

#include "loaders/load_error.h"
#include "tests/loaders/checkpoint_writers.h"

namespace vkmoe {
namespace {

using test::st_file;
using test::StTensor;
using test::TempDir;

std::vector<std::byte> zeros(std::size_t n) {
  return std::vector<std::byte>(n);
}

template <typename F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    FAIL() << "no error; expected: " << needle;
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

TEST(Checkpoint, SingleFileFolder) {
  TempDir dir;
  dir.write("model.safetensors", st_file({{"a", "F32", {2}, zeros(8)}}, {{"format", "pt"}}));
  const Checkpoint c = Checkpoint::open(dir.path());
  ASSERT_NE(c.find("a"), nullptr);
  EXPECT_EQ(c.find("b"), nullptr);
  EXPECT_EQ(c.metadata().at("format"), "pt");
  EXPECT_EQ(c.files().size(), 1u);
}

TEST(Checkpoint, ShardedFolder) {
  TempDir dir;
  dir.write("model-00001-of-00002.safetensors",
            st_file({{"a", "F32", {2}, zeros(8)}, {"b", "BF16", {3}, zeros(6)}}));
  dir.write("model-00002-of-00002.safetensors", st_file({{"c", "F16", {1, 2}, zeros(4)}}));
  dir.write("model.safetensors.index.json",
            R"({"metadata":{"total_size":18},"weight_map":{
                "a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",
                "c":"model-00002-of-00002.safetensors"}})");
  const Checkpoint c = Checkpoint::open(dir.path());
  EXPECT_EQ(c.tensors().size(), 3u);
  EXPECT_EQ(c.files().size(), 2u);
  ASSERT_NE(c.find("c"), nullptr);
  EXPECT_EQ(c.find("c")->shape, (std::vector<std::int64_t>{1, 2}));
  EXPECT_NE(c.find("c")->file.find("model-00002-of-00002.safetensors"), std::string::npos);
  // the index file itself also opens the set
  EXPECT_EQ(Checkpoint::open(dir.path() / "model.safetensors.index.json").tensors().size(), 3u);
}

TEST(ShardIndex, Parses) {
  const ShardIndex i = parse_shard_index(
      R"({"metadata":{"total_size":28.0},"weight_map":{"x":"s2","y":"s1","z":"s2"}})", "i.json");
  EXPECT_EQ(i.total_size, 28u);
  EXPECT_EQ(i.shard_files(), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_FALSE(parse_shard_index(R"({"weight_map":{}})", "i.json").total_size.has_value());
}

TEST(ShardIndexErrors, EachMessage) {
  expect_error([] { parse_shard_index("[]", "i.json"); }, "i.json: not a JSON object");
  expect_error([] { parse_shard_index(R"({"metadata":1,"weight_map":{}})", "i.json"); },
               "i.json: 'metadata' is not an object");
  expect_error(
      [] { parse_shard_index(R"({"metadata":{"total_size":-1},"weight_map":{}})", "i.json"); },
      "i.json: 'metadata.total_size' is -1, not a non-negative number");
  expect_error([] { parse_shard_index(R"({})", "i.json"); }, "i.json: no 'weight_map'");
  expect_error([] { parse_shard_index(R"({"weight_map":[]})", "i.json"); },
               "i.json: 'weight_map' is not an object");
  expect_error([] { parse_shard_index(R"({"weight_map":{"a":1}})", "i.json"); },
               "i.json: weight_map entry 'a' is not a string");
  expect_error([] { parse_shard_index(R"({"weight_map":{"a":"../../etc/passwd"}})", "i.json"); },
               "i.json: weight_map maps tensor 'a' to '../../etc/passwd', which is not a file "
               "name in the index's folder");
  expect_error([] { parse_shard_index(R"({"weight_map":{"a":".."}})", "i.json"); },
               "which is not a file name");
  expect_error([] { parse_shard_index(R"({"weight_map":{"a":"x"},)", "i.json"); },
               "i.json: offset");
}

TEST(CheckpointErrors, EmptyFolder) {
  TempDir dir;
  expect_error([&] { Checkpoint::open(dir.path()); },
               dir.path().string() +
                   ": no model.safetensors.index.json or model.safetensors in this folder");
}

TEST(CheckpointErrors, MissingShardNamesTheShard) {
  TempDir dir;
  dir.write("model.safetensors.index.json", R"({"weight_map":{"a":"shard-1.safetensors"}})");
  expect_error([&] { Checkpoint::open(dir.path()); }, "shard-1.safetensors: cannot open");
}

TEST(CheckpointErrors, IndexPointsToAShardWithoutTheTensor) {
  TempDir dir;
  dir.write("s1.safetensors", st_file({{"a", "F32", {1}, zeros(4)}}));
  dir.write("model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors",
      "b":"s1.safetensors"}})");
  expect_error([&] { Checkpoint::open(dir.path()); },
               "weight_map puts tensor 'b' in shard 's1.safetensors', which does not hold it");
}

TEST(CheckpointErrors, TensorInTwoShards) {
  TempDir dir;
  dir.write("s1.safetensors", st_file({{"a", "F32", {1}, zeros(4)}}));
  dir.write("s2.safetensors", st_file({{"a", "F32", {1}, zeros(4)}}));
  dir.write("model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors",
      "x":"s2.safetensors"}})");
  expect_error([&] { Checkpoint::open(dir.path()); }, "s2.safetensors: tensor 'a' is also in");
}

TEST(CheckpointErrors, BadShardHeaderNamesTheShard) {
  TempDir dir;
  dir.write("s1.safetensors", std::vector<std::byte>(3));
  dir.write("model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors"}})");
  expect_error([&] { Checkpoint::open(dir.path()); },
               "s1.safetensors: file of 3 bytes is too short");
}

}  // namespace
}  // namespace vkmoe
