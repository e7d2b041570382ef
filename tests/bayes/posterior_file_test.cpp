#include "engine/bayes/posterior_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/model_fingerprint.h"
#include "loaders/load_error.h"
#include "loaders/safetensors.h"
#include "loaders/safetensors_writer.h"
#include "tests/bayes/sample_posterior.h"

namespace vkmoe::bayes {
namespace {

std::filesystem::path scratch(const char* name) {
  return std::filesystem::temp_directory_path() / ("vkmoe_posterior_" + std::string(name) + "_" +
                                                   std::to_string(::getpid()) + ".safetensors");
}

std::vector<double> through_f32(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(static_cast<double>(static_cast<float>(x)));
  return out;
}

TEST(PosteriorFile, RoundTrip) {
  const Posterior p = test::sample_posterior();
  const auto path = scratch("round_trip");
  write_posterior_file(path, p);
  const Posterior back = read_posterior_file(path, p.model_fingerprint);
  std::filesystem::remove(path);

  EXPECT_EQ(back.model_fingerprint, p.model_fingerprint);
  EXPECT_EQ(back.rank, p.rank);
  EXPECT_EQ(back.fisher, FisherType::kMc);
  EXPECT_EQ(back.prior_mean, PriorMean::kMap);
  EXPECT_EQ(back.temperature, static_cast<double>(static_cast<float>(p.temperature)));
  EXPECT_EQ(back.prior_precision, through_f32(p.prior_precision));
  ASSERT_EQ(back.layers.size(), p.layers.size());
  for (std::size_t l = 0; l < p.layers.size(); ++l) {
    EXPECT_EQ(back.layers[l].layer, p.layers[l].layer);
    ASSERT_EQ(back.layers[l].experts.size(), p.layers[l].experts.size());
    for (std::size_t e = 0; e < p.layers[l].experts.size(); ++e) {
      const KronExpertFactors& a = p.layers[l].experts[e];
      const KronExpertFactors& b = back.layers[l].experts[e];
      EXPECT_EQ(b.g.n, a.g.n);
      EXPECT_EQ(b.a.n, a.a.n);
      EXPECT_EQ(b.g.vectors, through_f32(a.g.vectors));
      EXPECT_EQ(b.g.values, through_f32(a.g.values));
      EXPECT_EQ(b.a.vectors, through_f32(a.a.vectors));
      EXPECT_EQ(b.a.values, through_f32(a.a.values));
      EXPECT_EQ(b.tokens, a.tokens);
    }
  }
}

TEST(PosteriorFile, SizeIsKnownBeforeWriting) {
  for (bool per_layer : {false, true}) {
    const Posterior p = test::sample_posterior(/*uneven=*/false, per_layer);
    const auto path = scratch("size");
    write_posterior_file(path, p);
    const PosteriorShape shape{{1, 3}, 2, 6, 4, 3, per_layer, p.fisher, p.prior_mean};
    EXPECT_EQ(posterior_file_bytes(shape), std::filesystem::file_size(path));
    std::filesystem::remove(path);
  }
  // a rank above a side is clamped as the factors are
  const PosteriorShape wide{{0}, 1, 2, 5, 3, false, FisherType::kExact, PriorMean::kZero};
  const PosteriorShape clamped{{0}, 1, 2, 5, 2, false, FisherType::kExact, PriorMean::kZero};
  // qa gains a column of 5 floats, la one float; the header may grow by its 8-byte padding
  const std::uint64_t growth = posterior_file_bytes(wide) - posterior_file_bytes(clamped);
  EXPECT_GE(growth, 4u * (5 + 1));
  EXPECT_LE(growth, 4u * (5 + 1) + 8);
}

TEST(PosteriorFile, RefusesAnotherModelNamingBothFingerprints) {
  const Posterior p = test::sample_posterior();
  const auto path = scratch("other_model");
  write_posterior_file(path, p);
  try {
    read_posterior_file(path, 0x1234);
    FAIL() << "a posterior for another model was accepted";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path.string()), std::string::npos) << m;
    EXPECT_NE(m.find(fingerprint_hex(p.model_fingerprint)), std::string::npos) << m;
    EXPECT_NE(m.find("0000000000001234"), std::string::npos) << m;
  }
  std::filesystem::remove(path);
}

// The sample file copied with one more tensor: an expert whose predecessor is missing.
TEST(PosteriorFile, RefusesAGapInTheExpertNumbering) {
  const auto path = scratch("gap"), copy = scratch("gap_copy");
  write_posterior_file(path, test::sample_posterior());
  {
    const SafetensorsFile f = SafetensorsFile::open(path);
    SafetensorsWriter w;
    for (const TensorView& t : f.tensors()) {
      if (t.dtype == DType::kF32) {
        std::vector<float> v(static_cast<std::size_t>(t.numel()));
        std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
        w.add_f32(t.name, t.shape, v);
      } else {
        std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
        std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
        w.add_i64(t.name, t.shape, v);
      }
    }
    for (const auto& [key, value] : f.metadata()) w.set_metadata(key, value);
    w.add_f32("layers.1.experts.3.qg", {6, 3}, std::vector<float>(18, 0.5f));
    w.write(copy);
  }
  EXPECT_NO_THROW(read_posterior_file(path, test::sample_posterior().model_fingerprint));
  try {
    read_posterior_file(copy, test::sample_posterior().model_fingerprint);
    FAIL() << "a posterior with an expert numbering gap was accepted";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("holds 23 tensors"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  std::filesystem::remove(copy);
}

TEST(PosteriorFile, RefusesOtherFilesAndInconsistentPosteriors) {
  const auto path = scratch("not_posterior");
  SafetensorsWriter w;
  w.add_f32("x", {1}, std::vector<float>{1});
  w.write(path);
  EXPECT_THROW(read_posterior_file(path, 1), LoadError);
  std::filesystem::remove(path);

  Posterior p = test::sample_posterior();
  p.prior_precision = {1.0, 2.0, 3.0};  // two layers
  EXPECT_THROW(write_posterior_file(path, p), BayesError);
  p = test::sample_posterior();
  std::swap(p.layers[0].layer, p.layers[1].layer);
  EXPECT_THROW(write_posterior_file(path, p), BayesError);
  p = test::sample_posterior();
  p.layers[1].experts[0].a.values.pop_back();
  EXPECT_THROW(write_posterior_file(path, p), BayesError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace vkmoe::bayes
