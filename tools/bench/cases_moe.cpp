// Benchmark cases for the MoE kernels at the shape of issue 5's bench model (hidden 1024,
// 32 experts, top-4, expert FFN 512, f16): the fused router and the expert-batched GEMM of
// gate_proj for a 128-token prompt, and the decode-time expert GEMV of one token, routed by
// random logits (also in q8_0, baseline and integer-dot fast path); and the KFAC factors A and G
// of a group of experts (Σ x xᵀ over each expert's rows).
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/expert_gram.h"
#include "engine/ops/gemv.h"
#include "engine/ops/moe_experts.h"
#include "engine/ops/moe_router.h"
#include "tools/bench/bench_case.h"

namespace vkmoe::bench {
namespace {

struct Routing {
  std::shared_ptr<vk::Buffer> logits, weights, choices, counts, lists;
};

Routing make_routing(vk::Context& context, vk::Stream& stream, uint32_t tokens, uint32_t experts,
                     uint32_t top_k) {
  std::mt19937 generator(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> logits(size_t{tokens} * experts);
  for (float& v : logits) v = normal(generator);
  auto buffer = [&](uint64_t bytes, const char* name) {
    return std::make_shared<vk::Buffer>(context.create_buffer(bytes, name));
  };
  Routing r{buffer(logits.size() * 4, "logits"), buffer(uint64_t{tokens} * top_k * 4, "weights"),
            buffer(uint64_t{tokens} * top_k * 4, "choices"),
            buffer(uint64_t{experts} * 4, "counts"),
            buffer(uint64_t{experts} * tokens * 4, "lists")};
  stream.upload(r.logits->span(), logits.data(), logits.size() * 4);
  ops::moe_router(stream, r.logits->span(), r.weights->span(), r.choices->span(), r.counts->span(),
                  r.lists->span(), {tokens, experts, top_k, false});
  return r;
}

// Decode: one token's top-k experts; only the chosen experts' weights are read. With f32
// arithmetic on f32 activations, or (`integer_dot`, where the device has it) the fast path on
// int8-quantised activations.
BenchCase moe_gemv_case(ops::DType type, bool integer_dot, uint32_t experts, uint32_t top_k,
                        uint32_t hidden, uint32_t inner) {
  BenchCase gemv;
  const std::string name(ops::dtype_name(type));
  gemv.kernel = integer_dot ? "moe_gemv_dot_" + name : "moe_gemv_" + name;
  gemv.shape = "1t_" + std::to_string(experts) + "e_k" + std::to_string(top_k) + "_" +
               std::to_string(inner) + "x" + std::to_string(hidden);
  gemv.bound = Bound::memory;
  const uint64_t expert_bytes = ops::dtype_matrix_bytes(type, inner, hidden, hidden);
  gemv.flops = 2.0 * top_k * double(inner) * hidden;
  gemv.bytes =
      double(top_k) * double(expert_bytes) + double(hidden) * 4 + double(top_k) * inner * 4;
  if (integer_dot) {
    gemv.available = [](const vk::DeviceInfo& d) { return d.integer_dot_product; };
  }
  gemv.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto routing = std::make_shared<Routing>(make_routing(context, stream, 1, experts, top_k));
    auto x = std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{hidden} * 4, "x"));
    auto w = std::make_shared<vk::Buffer>(context.create_buffer(experts * expert_bytes, "w_gate"));
    auto y = std::make_shared<vk::Buffer>(
        context.create_buffer(uint64_t{top_k} * inner * 4, "gate_out"));
    stream.fill(x->span(), 0x3c003c00u);
    stream.fill(w->span(), 0x3c003c00u);
    ops::GemvConfig config = ops::default_gemv_config(context.info());
    config.integer_dot = integer_dot;
    config.float16 = false;
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::moe_gemv(s, {.x = x->span(),
                        .w = w->span(),
                        .y = y->span(),
                        .choices = routing->choices->span(),
                        .w_type = type,
                        .experts = experts,
                        .m = inner,
                        .k = hidden,
                        .tokens = 1,
                        .top_k = top_k,
                        .config = config});
    });
  };
  return gemv;
}

// A KFAC factor at a merge of the fit (kfac.h): a group of 4 experts, each listing `rows` of the
// gathered rows (many examples' worth), one call; n = the expert width for A, the hidden size for
// G. The fit no longer sums one example's ~10 rows per expert per launch, so this is the shape
// that matters; the lists interleave the experts' rows as the routing does.
BenchCase gram_case(uint32_t n, uint32_t rows) {
  const uint32_t experts = 4;
  BenchCase gram;
  gram.kernel = "expert_gram";
  gram.shape =
      std::to_string(experts) + "e_" + std::to_string(rows) + "rows_" + std::to_string(n) + "^2";
  gram.bound = Bound::compute;
  gram.flops = double(experts) * rows * n * (n + 1.0);
  gram.bytes = double(experts) * (double(rows) * n * 4 + double(n) * n * 4);
  gram.prepare = [=](vk::Context& context, vk::Stream& stream) {
    const uint32_t x_rows = experts * rows;
    std::vector<uint32_t> lists(experts + 1 + x_rows);
    for (uint32_t e = 0; e <= experts; ++e) lists[e] = e * rows;
    for (uint32_t r = 0; r < x_rows; ++r)
      lists[experts + 1 + (r % experts) * rows + r / experts] = r;
    auto list_buffer = std::make_shared<vk::Buffer>(
        context.create_buffer(lists.size() * sizeof(uint32_t), "expert lists"));
    stream.upload(list_buffer->span(), lists.data(), lists.size() * sizeof(uint32_t));
    auto x = std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{x_rows} * n * 4, "rows"));
    auto factor = std::make_shared<vk::Buffer>(
        context.create_buffer(uint64_t{experts} * n * n * 4, "factor"));
    stream.fill(x->span(), 0x3c003c00u);
    const VkDeviceSize offsets_bytes = (experts + 1) * sizeof(uint32_t);
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::expert_gram(s, {.x = x->span(),
                           .offsets = list_buffer->span(0, offsets_bytes),
                           .rows = list_buffer->span(offsets_bytes, uint64_t{x_rows} * 4),
                           .gram = factor->span(),
                           .experts = experts,
                           .n = n,
                           .x_rows = x_rows,
                           .listed = x_rows,
                           .longest = rows});
    });
  };
  return gram;
}

std::vector<BenchCase> moe_cases(bool quick) {
  const uint32_t tokens = quick ? 32 : 128, experts = 32, top_k = 4;
  const uint32_t hidden = quick ? 256 : 1024, inner = quick ? 128 : 512;
  const ops::DType type = ops::DType::f16;
  const std::string shape = std::to_string(tokens) + "t_" + std::to_string(experts) + "e_k" +
                            std::to_string(top_k) + "_" + std::to_string(inner) + "x" +
                            std::to_string(hidden);

  BenchCase gemm;
  gemm.kernel = "moe_gemm_f16";
  gemm.shape = shape;
  gemm.bound = Bound::compute;
  gemm.flops = 2.0 * tokens * top_k * double(inner) * hidden;
  gemm.bytes = double(experts) * inner * hidden * 2 + double(tokens) * hidden * 4 +
               double(tokens) * top_k * inner * 4;
  gemm.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto routing = std::make_shared<Routing>(make_routing(context, stream, tokens, experts, top_k));
    auto x =
        std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{tokens} * hidden * 4, "x"));
    auto w = std::make_shared<vk::Buffer>(
        context.create_buffer(uint64_t{experts} * inner * hidden * 2, "w_gate"));
    auto y = std::make_shared<vk::Buffer>(
        context.create_buffer(uint64_t{tokens} * top_k * inner * 4, "gate_out"));
    stream.fill(x->span(), 0x3c003c00u);
    stream.fill(w->span(), 0x3c003c00u);
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::moe_gemm(
          s, {x->span(), w->span(), y->span(), routing->counts->span(), routing->lists->span(),
              type, experts, inner, hidden, tokens, top_k, false, std::nullopt});
    });
  };

  BenchCase router;
  router.kernel = "moe_router";
  router.shape =
      std::to_string(tokens) + "t_" + std::to_string(experts) + "e_k" + std::to_string(top_k);
  router.bound = Bound::memory;
  router.bytes = 4.0 * tokens * experts + 12.0 * tokens * top_k;
  router.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto routing = std::make_shared<Routing>(make_routing(context, stream, tokens, experts, top_k));
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::moe_router(s, routing->logits->span(), routing->weights->span(),
                      routing->choices->span(), routing->counts->span(), routing->lists->span(),
                      {tokens, experts, top_k, false});
    });
  };
  return {router,
          gemm,
          moe_gemv_case(type, false, experts, top_k, hidden, inner),
          moe_gemv_case(ops::DType::q8_0, false, experts, top_k, hidden, inner),
          moe_gemv_case(ops::DType::q8_0, true, experts, top_k, hidden, inner),
          gram_case(inner, quick ? 256 : 1024),
          gram_case(hidden, quick ? 256 : 1024)};
}

}  // namespace

VKMOE_BENCH_CASES(moe_cases);

}  // namespace vkmoe::bench
