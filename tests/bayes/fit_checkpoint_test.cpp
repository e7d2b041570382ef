// A fit checkpoint round-trips bit for bit (engine/bayes/fit_checkpoint.h): restored streams
// merge further chunks exactly as the originals do, and a file of another format is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <vector>

#include "engine/bayes/fit_checkpoint.h"
#include "loaders/load_error.h"
#include "loaders/safetensors_writer.h"

namespace vkmoe::bayes {
namespace {

std::vector<float> gram(std::int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<std::size_t>(3 * n)), s(static_cast<std::size_t>(n * n));
  for (float& v : x) v = normal(rng);
  for (std::int64_t r = 0; r < 3; ++r) {
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) s[i * n + j] += x[r * n + i] * x[r * n + j];
    }
  }
  return s;
}

TEST(FitCheckpoint, RoundTripContinuesBitForBit) {
  std::mt19937 rng(3);
  FitCheckpointHeader h;
  h.model_fingerprint = 0x0123456789abcdefull;
  h.data_fingerprint = 0xfedcba9876543210ull;
  h.settings = "rank=2;fisher=mc";
  h.next_example = 17;
  h.log_likelihood = -12.345678901234567;
  h.layers = {1, 3};
  h.h = 5;
  h.i = 4;
  h.experts = 2;
  h.rank = 2;
  std::vector<std::vector<ExpertFactorStream>> streams(2);
  for (auto& layer : streams) {
    for (int e = 0; e < 2; ++e) layer.emplace_back(h.h, h.i, h.rank);
  }
  for (int round = 0; round < 3; ++round) {
    streams[0][0].add_chunk(gram(h.h, rng), gram(h.i, rng), 3);
    streams[1][1].add_chunk(gram(h.h, rng), gram(h.i, rng), 2);
  }
  const auto path = std::filesystem::path(::testing::TempDir()) / "fit_checkpoint_test.st";
  write_fit_checkpoint(path, h, streams);
  FitCheckpoint c = read_fit_checkpoint(path);
  EXPECT_EQ(c.header.model_fingerprint, h.model_fingerprint);
  EXPECT_EQ(c.header.data_fingerprint, h.data_fingerprint);
  EXPECT_EQ(c.header.settings, h.settings);
  EXPECT_EQ(c.header.next_example, 17);
  EXPECT_EQ(c.header.log_likelihood, h.log_likelihood);
  EXPECT_EQ(c.header.layers, h.layers);
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.streams[1][0].g().chunks(), 0);

  const std::vector<float> g = gram(h.h, rng), a = gram(h.i, rng);
  streams[0][0].add_chunk(g, a, 1);
  c.streams[0][0].add_chunk(g, a, 1);
  for (const auto& [x, y] :
       {std::pair{&streams[0][0], &c.streams[0][0]}, std::pair{&streams[1][1], &c.streams[1][1]}}) {
    EXPECT_EQ(x->tokens(), y->tokens());
    EXPECT_EQ(x->g().pairs().values, y->g().pairs().values);
    EXPECT_EQ(x->g().pairs().vectors, y->g().pairs().vectors);
    EXPECT_EQ(x->a().pairs().vectors, y->a().pairs().vectors);
    EXPECT_EQ(x->a().dropped_mass(), y->a().dropped_mass());
    EXPECT_EQ(x->g().chunks(), y->g().chunks());
  }
  std::filesystem::remove(path);
}

TEST(FitCheckpoint, AnotherFileIsRefused) {
  const auto path = std::filesystem::path(::testing::TempDir()) / "not_a_checkpoint.st";
  SafetensorsWriter w;
  w.set_metadata("format", "something-else");
  w.set_metadata("format_version", "1");
  w.write(path);
  EXPECT_THROW(read_fit_checkpoint(path), LoadError);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace vkmoe::bayes
