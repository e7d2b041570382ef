// The routed-expert stage (router → expert GEMMs with gather/scatter, or the decode-time expert
// GEMV → SwiGLU → down → combine) against a plain per-token loop over the chosen experts in
// double. Weights in f32, f16, bf16 and GGUF's q8_0, q4_0 and q4_k (the reference uses the
// values the stored weights mean, so every type is held to 1e-7), with the device's default
// kernel, the portable one and the decode GEMV, and with binding ranges so small that expert
// groups are dispatched apart.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "engine/ops/elementwise.h"
#include "engine/ops/gemv.h"
#include "engine/ops/moe_experts.h"
#include "engine/ops/moe_router.h"
#include "tests/ops/coopmat_support.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// Which kernel computes the expert products: moe_gemm with the device's default tiles, with
// the portable tiled kernel, with the default tiles but X always read from storage buffers
// (`gemm_storage`; the default reads X as texels on CPU devices), with the default tiles but one
// workgroup per expert that loops over all its tiles (`gemm_one_workgroup`; the default grid
// has a few workgroups per core), moe_gemv (the decode path; the baseline GEMV configuration
// with `gemv_baseline`), or moe_gemm on cooperative matrices (`gemm_coopmat`: f16 operands, so
// held to 3e-6 instead of 1e-7; skipped on devices without VK_KHR_cooperative_matrix).
enum class ExpertKernel {
  gemm,
  gemm_tiled,
  gemv,
  gemv_baseline,
  gemm_storage,
  gemm_one_workgroup,
  gemm_coopmat
};

struct ExpertsCase {
  uint32_t tokens, experts, top_k, hidden, inner;
  ops::DType type;
  ExpertKernel kernel;
  bool small_binding = false;  // VKMOE_MAX_BINDING_RANGE=2048: experts split over dispatches
  // Uneven loads: expert 0 takes every token (several tiles, the last one partly filled) and
  // the two experts before the last take none, beside the never chosen last one.
  bool skewed = false;
};

std::vector<float> reference_moe(const ExpertsCase& c, const std::vector<float>& x,
                                 const std::vector<float>& logits, const std::vector<float>& gate,
                                 const std::vector<float>& up, const std::vector<float>& down) {
  const uint32_t H = c.hidden, I = c.inner, E = c.experts;
  std::vector<float> out(size_t{c.tokens} * H);
  for (uint32_t t = 0; t < c.tokens; ++t) {
    std::vector<double> p(E);
    double top = -INFINITY, total = 0;
    for (uint32_t e = 0; e < E; ++e) top = std::max(top, double(logits[t * E + e]));
    for (uint32_t e = 0; e < E; ++e) total += (p[e] = std::exp(double(logits[t * E + e]) - top));
    std::vector<uint32_t> order(E);
    for (uint32_t e = 0; e < E; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
    std::vector<double> acc(H, 0.0);
    for (uint32_t j = 0; j < c.top_k; ++j) {
      const uint32_t e = order[j];
      std::vector<double> act(I);
      for (uint32_t i = 0; i < I; ++i) {
        double g = 0, u = 0;
        for (uint32_t h = 0; h < H; ++h) {
          g += double(gate[(size_t{e} * I + i) * H + h]) * x[size_t{t} * H + h];
          u += double(up[(size_t{e} * I + i) * H + h]) * x[size_t{t} * H + h];
        }
        act[i] = g / (1.0 + std::exp(-g)) * u;
      }
      for (uint32_t h = 0; h < H; ++h) {
        double d = 0;
        for (uint32_t i = 0; i < I; ++i) d += double(down[(size_t{e} * H + h) * I + i]) * act[i];
        acc[h] += p[e] / total * d;
      }
    }
    for (uint32_t h = 0; h < H; ++h) out[size_t{t} * H + h] = float(acc[h]);
  }
  return out;
}

class MoeExpertsFixture : public GpuTest {
 protected:
  void check(const ExpertsCase& c);
};

class MoeExpertsTest : public MoeExpertsFixture, public ::testing::WithParamInterface<ExpertsCase> {
 protected:
  void SetUp() override {
    if (GetParam().small_binding) setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    MoeExpertsFixture::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_P(MoeExpertsTest, MatchesPerTokenReference) {
  check(GetParam());
}

void MoeExpertsFixture::check(const ExpertsCase& c) {
  std::optional<ops::GemmTiles> tiles;
  if (c.kernel == ExpertKernel::gemm_coopmat) {
    VKMOE_COOPMAT_TILES_OR_SKIP(context().info(), coopmat);
    tiles = coopmat;
  }
  const uint32_t T = c.tokens, E = c.experts, K = c.top_k, H = c.hidden, I = c.inner;
  const auto x = random_floats(size_t{T} * H, 41);
  auto logits = random_floats(size_t{T} * E, 42, -3.0f, 3.0f);
  // The last expert is never chosen (when there is a choice), and its weights are NaN: a
  // kernel that touches an unrouted expert's rows fails the comparison.
  const bool dead_expert = K < E;
  if (dead_expert) {
    for (uint32_t t = 0; t < T; ++t) logits[size_t{t} * E + E - 1] = -60.0f;
  }
  if (c.skewed) {
    for (uint32_t t = 0; t < T; ++t) {
      logits[size_t{t} * E] = 10.0f;
      logits[size_t{t} * E + E - 2] = logits[size_t{t} * E + E - 3] = -50.0f;
    }
  }
  auto gate_f = random_floats(size_t{E} * I * H, 43, -0.5f, 0.5f);
  auto up_f = random_floats(size_t{E} * I * H, 44, -0.5f, 0.5f);
  auto down_f = random_floats(size_t{E} * H * I, 45, -0.5f, 0.5f);
  if (dead_expert) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::fill(gate_f.end() - size_t{I} * H, gate_f.end(), nan);
    std::fill(down_f.end() - size_t{H} * I, down_f.end(), nan);
  }
  const StoredWeights gate = store_weights(gate_f, c.type);
  const StoredWeights up = store_weights(up_f, c.type);
  const StoredWeights down = store_weights(down_f, c.type);

  const uint64_t entries = uint64_t{T} * K;
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer glogits(context(), stream(), logits.size(), "logits");
  GuardedBuffer weights(context(), stream(), entries, "weights");
  GuardedBuffer choices(context(), stream(), entries, "choices");
  GuardedBuffer counts(context(), stream(), E, "counts");
  GuardedBuffer lists(context(), stream(), size_t{E} * T, "lists");
  GuardedBuffer g(context(), stream(), entries * I, "gate_out");
  GuardedBuffer u(context(), stream(), entries * I, "up_out");
  GuardedBuffer act(context(), stream(), entries * I, "act");
  GuardedBuffer d(context(), stream(), entries * H, "down_out");
  GuardedBuffer out(context(), stream(), size_t{T} * H, "out");
  vk::Buffer wg = upload(gate.bytes, "w_gate");
  vk::Buffer wu = upload(up.bytes, "w_up");
  vk::Buffer wd = upload(down.bytes, "w_down");
  gx.write(stream(), x);
  glogits.write(stream(), logits);

  ops::moe_router(stream(), glogits.span(), weights.span(), choices.span(), counts.span(),
                  lists.span(), {T, E, K, false});
  const bool gemv = c.kernel == ExpertKernel::gemv || c.kernel == ExpertKernel::gemv_baseline;
  // The f32 kernels' default (the GPU default, cooperative matrices, is gemm_coopmat).
  if (c.kernel == ExpertKernel::gemm) tiles = ops::default_gemm_tiles(context().info());
  if (c.kernel == ExpertKernel::gemm_tiled) tiles = ops::baseline_gemm_tiles();
  if (c.kernel == ExpertKernel::gemm_storage) {
    tiles = ops::default_gemm_tiles(context().info());
    tiles->x_texels = false;
  }
  if (c.kernel == ExpertKernel::gemm_one_workgroup) {
    tiles = ops::default_gemm_tiles(context().info());
    tiles->workgroups = 1;
  }
  std::optional<ops::GemvConfig> gemv_config;
  if (c.kernel == ExpertKernel::gemv_baseline) gemv_config = ops::baseline_gemv_config();
  if (c.kernel == ExpertKernel::gemv) {
    // f32 arithmetic on f32 activations (the NMSE below is 1e-7); the fast paths (integer dot
    // on quantised activations, f16 arithmetic) have their own test, gemv_fast_paths_test.cpp.
    gemv_config = ops::default_gemv_config(context().info());
    gemv_config->integer_dot = false;
    gemv_config->float16 = false;
  }
  // One expert product: x [rows, k] through the chosen experts of w [E, m, k] into y.
  const auto product = [&](vk::BufferSpan in, vk::BufferSpan w, vk::BufferSpan y, uint32_t m,
                           uint32_t k, bool per_entry) {
    if (gemv) {
      ops::moe_gemv(stream(),
                    {in, w, y, choices.span(), c.type, E, m, k, T, K, per_entry, gemv_config});
    } else {
      ops::moe_gemm(stream(), {in, w, y, counts.span(), lists.span(), c.type, E, m, k, T, K,
                               per_entry, tiles});
    }
  };
  product(gx.span(), wg.span(), g.span(), I, H, false);
  product(gx.span(), wu.span(), u.span(), I, H, false);
  ops::swiglu(stream(), g.span(), u.span(), act.span(), entries * I);
  product(act.span(), wd.span(), d.span(), H, I, true);
  ops::moe_combine(stream(), d.span(), weights.span(), out.span(), T, H, K, false);

  const std::vector<float> expected =
      reference_moe(c, x, logits, gate.values, up.values, down.values);
  EXPECT_LE(nmse(out.read(stream()), expected),
            c.kernel == ExpertKernel::gemm_coopmat ? 3e-6 : 1e-7);
  // Guard words around every intermediate.
  for (GuardedBuffer* b : {&g, &u, &act, &d, &counts, &lists, &choices, &weights})
    b->read(stream());
}

std::string experts_case_name(const ::testing::TestParamInfo<ExpertsCase>& test) {
  const ExpertsCase& c = test.param;
  const char* kernel[] = {"",         "_tiled",         "_gemv",   "_gemv_baseline",
                          "_storage", "_one_workgroup", "_coopmat"};
  return "t" + std::to_string(c.tokens) + "_e" + std::to_string(c.experts) + "_k" +
         std::to_string(c.top_k) + "_h" + std::to_string(c.hidden) + "_i" +
         std::to_string(c.inner) + "_" + std::string(ops::dtype_name(c.type)) +
         kernel[static_cast<int>(c.kernel)] + (c.small_binding ? "_small_binding" : "") +
         (c.skewed ? "_skewed" : "");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MoeExpertsTest,
    ::testing::Values(
        ExpertsCase{1, 8, 2, 64, 32, ops::DType::f32, ExpertKernel::gemm},  // decode
        ExpertsCase{7, 8, 2, 40, 24, ops::DType::f32, ExpertKernel::gemm},  // odd
        ExpertsCase{64, 8, 2, 64, 48, ops::DType::bf16, ExpertKernel::gemm},
        ExpertsCase{33, 6, 1, 40, 16, ops::DType::f16, ExpertKernel::gemm},  // top-1
        ExpertsCase{17, 4, 4, 32, 16, ops::DType::f32, ExpertKernel::gemm},  // all
        ExpertsCase{23, 8, 3, 40, 24, ops::DType::f32, ExpertKernel::gemm_tiled},
        ExpertsCase{64, 8, 2, 64, 48, ops::DType::bf16, ExpertKernel::gemm_storage},
        ExpertsCase{7, 8, 2, 40, 24, ops::DType::f32, ExpertKernel::gemm_storage},
        ExpertsCase{9, 6, 2, 32, 64, ops::DType::q4_0, ExpertKernel::gemm_storage},
        ExpertsCase{9, 8, 2, 64, 32, ops::DType::bf16, ExpertKernel::gemm_tiled},
        // Quants: whole blocks of 32 and of 256.
        ExpertsCase{7, 8, 2, 64, 32, ops::DType::q8_0, ExpertKernel::gemm},
        ExpertsCase{9, 6, 2, 32, 64, ops::DType::q4_0, ExpertKernel::gemm},
        ExpertsCase{5, 4, 2, 256, 256, ops::DType::q4_k, ExpertKernel::gemm},
        ExpertsCase{9, 6, 3, 32, 64, ops::DType::q8_0, ExpertKernel::gemm_tiled},
        ExpertsCase{5, 4, 2, 256, 256, ops::DType::q4_k, ExpertKernel::gemm_tiled},
        ExpertsCase{3, 4, 2, 32, 32, ops::DType::q8_0, ExpertKernel::gemm, true},
        ExpertsCase{3, 4, 2, 32, 32, ops::DType::q4_0, ExpertKernel::gemm, true},
        // Uneven loads (one expert with every token, empty experts), also with
        // the experts split over dispatches and on the portable kernel.
        ExpertsCase{70, 8, 2, 64, 40, ops::DType::f16, ExpertKernel::gemm, false, true},
        ExpertsCase{45, 6, 3, 40, 24, ops::DType::f32, ExpertKernel::gemm, false, true},
        ExpertsCase{7, 6, 2, 32, 32, ops::DType::q8_0, ExpertKernel::gemm, true, true},
        ExpertsCase{30, 8, 2, 64, 32, ops::DType::f32, ExpertKernel::gemm_tiled, false, true},
        // One workgroup per expert on the shuffle kernel: it walks 3 column tiles of the down
        // product (hidden 136 = 64 + 64 + 8) and 2 of gate and up (inner 72), expert 0's
        // 45 rows as a full tile and a shorter last one, and the other experts' few rows.
        ExpertsCase{45, 6, 3, 136, 72, ops::DType::f16, ExpertKernel::gemm_one_workgroup, false,
                    true},
        ExpertsCase{64, 8, 2, 96, 32, ops::DType::q8_0, ExpertKernel::gemm_one_workgroup},
        // Cooperative matrices: odd sizes, top-1, top-k = all, uneven loads with empty
        // experts, experts split over dispatches, and the quants.
        ExpertsCase{7, 8, 2, 40, 24, ops::DType::f32, ExpertKernel::gemm_coopmat},
        ExpertsCase{64, 8, 2, 64, 48, ops::DType::bf16, ExpertKernel::gemm_coopmat},
        ExpertsCase{33, 6, 1, 40, 16, ops::DType::f16, ExpertKernel::gemm_coopmat},
        ExpertsCase{17, 4, 4, 32, 16, ops::DType::f32, ExpertKernel::gemm_coopmat},
        ExpertsCase{70, 8, 2, 136, 72, ops::DType::f16, ExpertKernel::gemm_coopmat, false, true},
        ExpertsCase{7, 6, 2, 32, 32, ops::DType::q8_0, ExpertKernel::gemm_coopmat, true, true},
        ExpertsCase{9, 6, 2, 32, 64, ops::DType::q4_0, ExpertKernel::gemm_coopmat},
        ExpertsCase{5, 4, 2, 256, 256, ops::DType::q4_k, ExpertKernel::gemm_coopmat},
        // 16-row tiles (about 13 rows per expert): expert 0's 40 rows as two full tiles and a
        // half one, the others' rows as one or two tiles.
        ExpertsCase{40, 6, 2, 136, 72, ops::DType::f16, ExpertKernel::gemm_one_workgroup, false,
                    true},
        ExpertsCase{40, 6, 2, 64, 32, ops::DType::q8_0, ExpertKernel::gemm_one_workgroup, false,
                    true},
        // The decode path: one token, a few tokens, odd sizes (scalar loads),
        // top-1, top-k = all, every dtype, and the baseline GEMV configuration.
        ExpertsCase{1, 8, 2, 64, 32, ops::DType::f32, ExpertKernel::gemv},
        ExpertsCase{3, 8, 2, 40, 24, ops::DType::f16, ExpertKernel::gemv},
        ExpertsCase{1, 6, 1, 64, 16, ops::DType::bf16, ExpertKernel::gemv},
        ExpertsCase{2, 4, 4, 32, 16, ops::DType::f32, ExpertKernel::gemv},
        ExpertsCase{1, 8, 3, 72, 40, ops::DType::f16, ExpertKernel::gemv_baseline},
        ExpertsCase{2, 8, 2, 64, 32, ops::DType::q8_0, ExpertKernel::gemv},
        ExpertsCase{1, 6, 2, 32, 64, ops::DType::q4_0, ExpertKernel::gemv},
        ExpertsCase{2, 4, 2, 256, 256, ops::DType::q4_k, ExpertKernel::gemv},
        ExpertsCase{1, 4, 2, 32, 32, ops::DType::q4_0, ExpertKernel::gemv_baseline}),
    experts_case_name);

// VKMOE_MAX_BINDING_RANGE shrinks the binding limit below the expert stack, so moe_gemv binds
// a group of experts per dispatch and each dispatch skips entries that chose another group.
class MoeGemvSmallBindingTest : public MoeExpertsFixture {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "8192", 1);
    MoeExpertsFixture::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(MoeGemvSmallBindingTest, SplitsTheExpertStack) {
  // 8 experts of 24 x 40 f32 (3840 bytes each): two per binding, four groups per product.
  const uint64_t before = stream().dispatch_count();
  check({2, 8, 3, 40, 24, ops::DType::f32, ExpertKernel::gemv});
  EXPECT_GT(stream().dispatch_count() - before, 12u) << "expected the experts in several groups";
}

}  // namespace
}  // namespace vkmoe::test
