// Posterior draws of the experts' down_proj (DESIGN.md "Bayesian-MoE", sampling):
// * the draw equals W_MAP + ΔW computed on the host from the same Philox normals (the test's
//   own Philox4x32-10, checked against Random123's known answers) and the dense formula;
// * over many independent draws the sample mean is W_MAP and the sample covariance of vec ΔW
//   is P⁻¹ for P = (A ⊗ G)/(M·T) + λI built with explicit Kronecker products;
// * a seed reproduces a draw bit for bit, another seed or draw index does not;
// * f16 / bf16 weights, an expert that saw no token, W split over several bindings.
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>

#include "engine/ops/posterior_sample.h"
#include "engine/vk/error.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::array<uint32_t, 4> philox(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{0xD2511F53u} * c[0], p1 = uint64_t{0xCD9E8D57u} * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1],
         uint32_t(p0)};
    k[0] += 0x9E3779B9u;
    k[1] += 0xBB67AE85u;
  }
  return c;
}

// The normal the shader draws for element (row, col) of expert e: Box–Muller on the first
// two words (24 bits each), here in double.
double normal(uint64_t seed, uint32_t stream, uint32_t draw, uint32_t e, uint32_t row, uint32_t col,
              uint32_t cols) {
  const auto w =
      philox({row * cols + col, e, stream, draw}, {uint32_t(seed), uint32_t(seed >> 32)});
  const double u1 = (double(w[0] >> 8) + 0.5) / 16777216.0;
  const double u2 = double(w[1] >> 8) / 16777216.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

TEST(Philox, RandomKnownAnswers) {
  EXPECT_EQ(philox({0, 0, 0, 0}, {0, 0}),
            (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}),
            (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
}

// Q: n x r with orthonormal columns (Gram–Schmidt on random vectors), row-major.
std::vector<double> orthonormal(uint32_t n, uint32_t r, uint32_t seed) {
  const std::vector<float> raw = random_floats(size_t{n} * r, seed);
  std::vector<double> q(raw.begin(), raw.end());
  for (uint32_t c = 0; c < r; ++c) {
    for (uint32_t d = 0; d < c; ++d) {
      double dot = 0;
      for (uint32_t i = 0; i < n; ++i) dot += q[i * r + c] * q[i * r + d];
      for (uint32_t i = 0; i < n; ++i) q[i * r + c] -= dot * q[i * r + d];
    }
    double norm = 0;
    for (uint32_t i = 0; i < n; ++i) norm += q[i * r + c] * q[i * r + c];
    for (uint32_t i = 0; i < n; ++i) q[i * r + c] /= std::sqrt(norm);
  }
  return q;
}

// One layer's posterior where every expert has the same factors (so experts are independent
// replicas of one distribution) except `empty_expert`, which saw no token (M = 0).
struct Posterior {
  uint32_t experts, h, i, rank;
  float lambda, temperature;
  std::vector<double> qg, lg, qa, la;  // one expert's: [h, r], [r], [i, r], [r]
  float m = 7.0f;
  int empty_expert = -1;
};

Posterior make_posterior(uint32_t experts, uint32_t h, uint32_t i, uint32_t rank) {
  Posterior p{experts, h, i, rank, 0.8f, 1.5f, orthonormal(h, rank, 5), {}, orthonormal(i, rank, 6),
              {}};
  for (uint32_t c = 0; c < rank; ++c) {
    p.lg.push_back(40.0 / (c + 1));  // strongly curved directions: posterior much narrower
    p.la.push_back(25.0 / (c + 1));
  }
  return p;
}

class PosteriorSampleTest : public GpuTest {
 protected:
  struct Device {
    vk::Buffer qg, qa, spectra, work, core, map, out;
  };

  Device upload(const Posterior& p, ops::DType type, const std::vector<float>& map) {
    const uint64_t E = p.experts, H = p.h, I = p.i, R = p.rank;
    const uint64_t S = 2 * R + 1;  // λᴳ, λᴬ, M per expert
    std::vector<float> qg(E * H * R), qa(E * I * R), spectra(E * S);
    for (uint64_t e = 0; e < E; ++e) {
      for (uint64_t x = 0; x < H * R; ++x) qg[e * H * R + x] = float(p.qg[x]);
      for (uint64_t x = 0; x < I * R; ++x) qa[e * I * R + x] = float(p.qa[x]);
      const bool empty = int64_t(e) == p.empty_expert;  // no token: no curvature, M = 0
      for (uint64_t x = 0; x < R; ++x) {
        spectra[e * S + x] = empty ? 0.0f : float(p.lg[x]);
        spectra[e * S + R + x] = empty ? 0.0f : float(p.la[x]);
      }
      spectra[e * S + 2 * R] = empty ? 0.0f : p.m;
    }
    const StoredWeights w = store_weights(map, type);
    Device d;
    const auto put = [&](vk::Buffer& b, const void* data, uint64_t bytes, const char* name) {
      b = context().create_buffer(bytes, name);
      stream().upload(b.span(), data, bytes);
    };
    put(d.qg, qg.data(), qg.size() * 4, "q_g");
    put(d.qa, qa.data(), qa.size() * 4, "q_a");
    put(d.spectra, spectra.data(), spectra.size() * 4, "spectra");
    put(d.map, w.bytes.data(), w.bytes.size(), "w_map");
    d.work = context().create_buffer(E * H * R * 4, "work");
    d.core = context().create_buffer(E * R * R * 4, "core");
    d.out = context().create_buffer(ops::dtype_matrix_bytes(ops::sample_type(type), E * H, I, I),
                                    "w_out");
    return d;
  }

  std::vector<std::byte> draw(const Posterior& p, ops::DType type, Device& d, uint64_t seed,
                              uint32_t index) {
    ops::sample_posterior(stream(), {.q_g = d.qg.span(),
                                     .q_a = d.qa.span(),
                                     .spectra = d.spectra.span(),
                                     .work = d.work.span(),
                                     .core = d.core.span(),
                                     .w_map = d.map.span(),
                                     .w_out = d.out.span(),
                                     .w_type = type,
                                     .experts = p.experts,
                                     .h = p.h,
                                     .i = p.i,
                                     .rank = p.rank,
                                     .seed = seed,
                                     .stream_id = 3,
                                     .draw = index,
                                     .lambda = p.lambda,
                                     .temperature = p.temperature});
    std::vector<std::byte> bytes(d.out.span().size);
    stream().download(d.out.span(), bytes.data(), bytes.size());
    stream().finish();
    return bytes;
  }
};

// ΔW of expert e on the host: λ^{-½} Z + Q_G [(D − λ^{-½}) ∘ (Q_Gᵀ Z Q_A)] Q_Aᵀ.
std::vector<double> reference_delta(const Posterior& p, uint64_t seed, uint32_t draw, uint32_t e) {
  const uint32_t H = p.h, I = p.i, R = p.rank;
  std::vector<double> z(size_t{H} * I), b(size_t{R} * R, 0.0), delta(size_t{H} * I);
  for (uint32_t r = 0; r < H; ++r)
    for (uint32_t c = 0; c < I; ++c) z[r * I + c] = normal(seed, 3, draw, e, r, c, I);
  const bool empty = int(e) == p.empty_expert;
  for (uint32_t j = 0; j < R; ++j) {
    for (uint32_t c = 0; c < R; ++c) {
      double s = 0;
      for (uint32_t r = 0; r < H; ++r)
        for (uint32_t k = 0; k < I; ++k) s += p.qg[r * R + j] * z[r * I + k] * p.qa[k * R + c];
      const double curvature = empty ? 0.0 : p.lg[j] * p.la[c] / (p.m * p.temperature);
      b[j * R + c] = (1.0 / std::sqrt(curvature + p.lambda) - 1.0 / std::sqrt(p.lambda)) * s;
    }
  }
  for (uint32_t r = 0; r < H; ++r) {
    for (uint32_t k = 0; k < I; ++k) {
      double s = z[r * I + k] / std::sqrt(p.lambda);
      for (uint32_t j = 0; j < R; ++j)
        for (uint32_t c = 0; c < R; ++c) s += p.qg[r * R + j] * b[j * R + c] * p.qa[k * R + c];
      delta[r * I + k] = s;
    }
  }
  return delta;
}

std::vector<float> as_floats(const std::vector<std::byte>& bytes, ops::DType type) {
  std::vector<float> out;
  if (type == ops::DType::f32) {
    out.resize(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  for (size_t x = 0; x + 1 < bytes.size(); x += 2) {
    uint16_t bits;
    std::memcpy(&bits, &bytes[x], 2);
    out.push_back(type == ops::DType::f16 ? from_f16_bits(bits) : from_bf16_bits(bits));
  }
  return out;
}

TEST_F(PosteriorSampleTest, MatchesHostFormulaForTheSameNormals) {
  Posterior p = make_posterior(3, 13, 10, 4);
  p.empty_expert = 1;
  const std::vector<float> map = random_floats(size_t{p.experts} * p.h * p.i, 9);
  for (ops::DType type : {ops::DType::f32, ops::DType::f16, ops::DType::bf16}) {
    Device d = upload(p, type, map);
    const std::vector<float> got = as_floats(draw(p, type, d, 0x1234567890abcdefull, 2), type);
    const StoredWeights stored = store_weights(map, type);
    std::vector<float> want(got.size());
    for (uint32_t e = 0; e < p.experts; ++e) {
      const std::vector<double> delta = reference_delta(p, 0x1234567890abcdefull, 2, e);
      for (size_t x = 0; x < delta.size(); ++x) {
        const size_t at = size_t{e} * p.h * p.i + x;
        want[at] = float(stored.values[at] + delta[x]);
      }
    }
    // f32: transcendental functions of a GPU against double; 16-bit: one rounding of the sum.
    const double tolerance = type == ops::DType::f32 ? 1e-10 : 1e-4;
    EXPECT_LE(nmse(got, want), tolerance) << ops::dtype_name(type);
  }
}

// A quantised W_MAP is read in its blocks and the draw written as f16 (sample_type): the same
// formula on the values the test's own quantiser says the blocks hold, within one f16 rounding.
TEST_F(PosteriorSampleTest, QuantisedMapDrawsIntoF16) {
  for (ops::DType type : {ops::DType::q8_0, ops::DType::q4_0, ops::DType::q4_k}) {
    ASSERT_EQ(ops::sample_type(type), ops::DType::f16);
    Posterior p = make_posterior(2, 5, ops::dtype_block_elements(type), 4);
    p.empty_expert = 0;
    const std::vector<float> map = random_floats(size_t{p.experts} * p.h * p.i, 19);
    Device d = upload(p, type, map);
    const std::vector<float> got = as_floats(draw(p, type, d, 77, 1), ops::DType::f16);
    const StoredWeights stored = store_weights(map, type);
    std::vector<float> want(got.size());
    for (uint32_t e = 0; e < p.experts; ++e) {
      const std::vector<double> delta = reference_delta(p, 77, 1, e);
      for (size_t x = 0; x < delta.size(); ++x) {
        const size_t at = size_t{e} * p.h * p.i + x;
        want[at] = float(stored.values[at] + delta[x]);
      }
    }
    EXPECT_LE(nmse(got, want), 1e-4) << ops::dtype_name(type);
  }
}

TEST_F(PosteriorSampleTest, SameSeedSameBitsOtherSeedOtherDraw) {
  const Posterior p = make_posterior(2, 8, 8, 3);
  Device d = upload(p, ops::DType::f32, random_floats(2 * 64, 10));
  const auto first = draw(p, ops::DType::f32, d, 42, 0);
  EXPECT_EQ(first, draw(p, ops::DType::f32, d, 42, 0));
  EXPECT_NE(first, draw(p, ops::DType::f32, d, 43, 0));
  EXPECT_NE(first, draw(p, ops::DType::f32, d, 42, 1));
}

// 20,000 experts with identical posteriors are 20,000 independent draws of one ΔW (3 x 4,
// rank 2): their mean and covariance against N(0, P⁻¹), P from explicit Kronecker products.
// (Sensitive: with T taken as 1 instead of 1.5 the curved directions' variances are off by
// 30-40%, far outside the 5% this allows.)
TEST_F(PosteriorSampleTest, SampleCovarianceIsTheInversePrecision) {
  const uint32_t S = 20000, H = 3, I = 4, D = H * I;
  const Posterior p = make_posterior(S, H, I, 2);
  const std::vector<float> map(size_t{S} * D, 0.5f);
  Device d = upload(p, ops::DType::f32, map);
  const std::vector<float> got = as_floats(draw(p, ops::DType::f32, d, 7, 0), ops::DType::f32);

  // Dense P over vec(ΔW) with vec stacking columns (index r + H·c): (A ⊗ G)[r+Hc, r'+Hc'] =
  // A[c][c'] G[r][r'], A = Q_A Λ_A Q_Aᵀ, G = Q_G Λ_G Q_Gᵀ.
  std::vector<double> A(I * I, 0.0), G(H * H, 0.0), P(D * D, 0.0);
  for (uint32_t x = 0; x < I; ++x)
    for (uint32_t y = 0; y < I; ++y)
      for (uint32_t c = 0; c < p.rank; ++c)
        A[x * I + y] += p.qa[x * 2 + c] * p.la[c] * p.qa[y * 2 + c];
  for (uint32_t x = 0; x < H; ++x)
    for (uint32_t y = 0; y < H; ++y)
      for (uint32_t c = 0; c < p.rank; ++c)
        G[x * H + y] += p.qg[x * 2 + c] * p.lg[c] * p.qg[y * 2 + c];
  for (uint32_t r = 0; r < H; ++r)
    for (uint32_t c = 0; c < I; ++c)
      for (uint32_t r2 = 0; r2 < H; ++r2)
        for (uint32_t c2 = 0; c2 < I; ++c2)
          P[(r + H * c) * D + r2 + H * c2] = A[c * I + c2] * G[r * H + r2] / (p.m * p.temperature) +
                                             (r == r2 && c == c2 ? p.lambda : 0.0);
  // Whiten: with P = L Lᵀ (Cholesky), Lᵀ vec ΔW ~ N(0, I) exactly when vec ΔW ~ N(0, P⁻¹),
  // so every direction is checked with the same relative precision, the sharply curved ones
  // (variance ~1/100 of the prior's) included.
  std::vector<double> L(D * D, 0.0);
  for (uint32_t r = 0; r < D; ++r) {
    for (uint32_t c = 0; c <= r; ++c) {
      double v = P[r * D + c];
      for (uint32_t k = 0; k < c; ++k) v -= L[r * D + k] * L[c * D + k];
      L[r * D + c] = r == c ? std::sqrt(v) : v / L[c * D + c];
    }
  }
  std::vector<double> y(size_t{S} * D, 0.0), mean(D, 0.0), cov(D * D, 0.0);
  for (uint32_t s = 0; s < S; ++s) {
    for (uint32_t v = 0; v < D; ++v) {
      // vec index v = r + H·c of ΔW, stored row-major [r, c]; the MAP is 0.5 everywhere.
      const double x = double(got[size_t{s} * D + (v % H) * I + v / H]) - 0.5;
      for (uint32_t w = 0; w <= v; ++w) y[size_t{s} * D + w] += L[v * D + w] * x;  // (Lᵀx)_w
    }
  }
  for (uint32_t s = 0; s < S; ++s)
    for (uint32_t v = 0; v < D; ++v) mean[v] += y[size_t{s} * D + v] / S;
  for (uint32_t s = 0; s < S; ++s)
    for (uint32_t v = 0; v < D; ++v)
      for (uint32_t w = 0; w < D; ++w)
        cov[v * D + w] +=
            (y[size_t{s} * D + v] - mean[v]) * (y[size_t{s} * D + w] - mean[w]) / (S - 1);
  // Within 5 standard errors: mean 1/√S, covariance entry √((1 + δ_vw)/S).
  for (uint32_t v = 0; v < D; ++v) {
    EXPECT_NEAR(mean[v], 0.0, 5 / std::sqrt(double(S))) << "mean " << v;
    for (uint32_t w = 0; w < D; ++w) {
      EXPECT_NEAR(cov[v * D + w], v == w ? 1.0 : 0.0, 5 * std::sqrt((v == w ? 2.0 : 1.0) / S))
          << "whitened covariance " << v << ", " << w;
    }
  }
}

// A binding limit below the W stack: W is bound a group of experts at a time.
class PosteriorSampleSmallBindingTest : public PosteriorSampleTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "4096", 1);
    PosteriorSampleTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(PosteriorSampleSmallBindingTest, SplitsTheWeights) {
  const Posterior p = make_posterior(6, 16, 24, 2);  // 1536 bytes per expert: 2 per binding
  const std::vector<float> map = random_floats(size_t{6} * 16 * 24, 11);
  Device d = upload(p, ops::DType::f32, map);
  const uint64_t before = stream().dispatch_count();
  const std::vector<float> got = as_floats(draw(p, ops::DType::f32, d, 5, 0), ops::DType::f32);
  EXPECT_GE(stream().dispatch_count() - before, 6u);
  std::vector<float> want(got.size());
  for (uint32_t e = 0; e < p.experts; ++e) {
    const std::vector<double> delta = reference_delta(p, 5, 0, e);
    for (size_t x = 0; x < delta.size(); ++x)
      want[e * 384 + x] = float(map[e * 384 + x] + delta[x]);
  }
  EXPECT_LE(nmse(got, want), 1e-10);
}

TEST_F(PosteriorSampleTest, RejectsBadArguments) {
  vk::Buffer small = context().create_buffer(64, "small");
  ops::PosteriorSampleArgs args{.q_g = small.span(),
                                .q_a = small.span(),
                                .spectra = small.span(),
                                .work = small.span(),
                                .core = small.span(),
                                .w_map = small.span(),
                                .w_out = small.span(),
                                .experts = 1,
                                .h = 2,
                                .i = 2,
                                .rank = 1};
  EXPECT_NO_THROW(ops::sample_posterior(stream(), args));
  args.h = 64;  // q_g needs 256 bytes
  EXPECT_THROW(ops::sample_posterior(stream(), args), Error);
  args.h = 2;
  args.lambda = 0.0f;
  EXPECT_THROW(ops::sample_posterior(stream(), args), Error);
}

}  // namespace
}  // namespace vkmoe::test
