// Benchmark cases for the backward kernels (activations only): nn.Linear's dX = dY·W from the
// [out, in] weight (compute), RMSNorm and SwiGLU backward (memory), and causal GQA attention's
// three backward passes (compute). Shapes are a Qwen1.5-MoE-sized layer. Each
// gemm_transposed_* row follows the forward GEMM of the same shape and dtype on the device's
// default kernel, for the ratio of their rates.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/attention_backward.h"
#include "engine/ops/gemm.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/rmsnorm_backward.h"
#include "engine/ops/swiglu_backward.h"
#include "tools/bench/bench_case.h"

namespace vkmoe::bench {
namespace {

constexpr uint32_t kOneF32 = 0x3c003c00u;  // small finite values in f32, f16 and bf16 alike

std::shared_ptr<vk::Buffer> filled(vk::Context& context, vk::Stream& stream, uint64_t bytes,
                                   const char* name) {
  auto buffer = std::make_shared<vk::Buffer>(context.create_buffer(bytes, name));
  stream.fill(buffer->span(), kOneF32);
  return buffer;
}

BenchCase linear_backward_case(ops::DType type, uint32_t n, uint32_t out, uint32_t in) {
  BenchCase c;
  c.kernel = "gemm_transposed_" + std::string(ops::dtype_name(type));
  c.shape = std::to_string(n) + "x" + std::to_string(out) + "x" + std::to_string(in);
  c.flops = 2.0 * n * double(out) * in;
  c.bytes =
      double(n) * out * 4 + double(ops::dtype_matrix_bytes(type, out, in, in)) + double(n) * in * 4;
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto dy = filled(context, stream, uint64_t{n} * out * 4, "dy");
    auto w = filled(context, stream, ops::dtype_matrix_bytes(type, out, in, in), "w");
    auto dx = filled(context, stream, uint64_t{n} * in * 4, "dx");
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::linear_backward(s, {.dy = dy->span(),
                               .w = w->span(),
                               .dx = dx->span(),
                               .w_type = type,
                               .n = n,
                               .out = out,
                               .in = in});
    });
  };
  return c;
}

BenchCase rmsnorm_backward_case(uint32_t rows, uint32_t cols) {
  BenchCase c;
  c.kernel = "rmsnorm_backward";
  c.shape = std::to_string(rows) + "x" + std::to_string(cols);
  c.bound = Bound::memory;
  c.flops = 8.0 * rows * double(cols);
  c.bytes = 12.0 * rows * double(cols);
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    const uint64_t bytes = uint64_t{rows} * cols * 4;
    auto x = filled(context, stream, bytes, "x"), dy = filled(context, stream, bytes, "dy");
    auto dx = filled(context, stream, bytes, "dx");
    auto w = filled(context, stream, uint64_t{cols} * 4, "w");
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::rmsnorm_backward(s, {x->span(), w->span(), dy->span(), dx->span(), rows, cols, 1e-6f});
    });
  };
  return c;
}

BenchCase swiglu_backward_case(uint64_t count) {
  BenchCase c;
  c.kernel = "swiglu_backward";
  c.shape = std::to_string(count);
  c.bound = Bound::memory;
  c.flops = 10.0 * double(count);
  c.bytes = 20.0 * double(count);
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto g = filled(context, stream, count * 4, "gate"),
         u = filled(context, stream, count * 4, "up");
    auto da = filled(context, stream, count * 4, "da");
    auto dg = filled(context, stream, count * 4, "d_gate");
    auto du = filled(context, stream, count * 4, "d_up");
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::swiglu_backward(s, {g->span(), u->span(), da->span(), dg->span(), du->span(), count});
    });
  };
  return c;
}

BenchCase attention_backward_case(uint32_t tokens, uint32_t q_heads, uint32_t kv_heads,
                                  uint32_t head_dim) {
  BenchCase c;
  c.kernel = "attention_backward";
  c.shape = std::to_string(tokens) + "t " + std::to_string(q_heads) + "/" +
            std::to_string(kv_heads) + "h d" + std::to_string(head_dim);
  const ops::AttentionShape shape =
      ops::AttentionShape::packed(tokens, 0, q_heads, kv_heads, head_dim);
  // (query, key) pairs under the causal mask, each: scores twice (dq, dk/dv), dP twice, and
  // the dq, dk, dv updates, plus the statistics pass: ~12 flops per pair and head dimension.
  const double pairs = double(tokens) * (tokens + 1) / 2 * q_heads;
  c.flops = 12.0 * pairs * head_dim;
  c.bytes = 4.0 * head_dim * (4.0 * tokens * q_heads + 4.0 * tokens * kv_heads);
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    const uint64_t q_bytes = uint64_t{tokens} * q_heads * head_dim * 4;
    const uint64_t kv_bytes = uint64_t{tokens} * kv_heads * head_dim * 4;
    auto q = filled(context, stream, q_bytes, "q"), o = filled(context, stream, q_bytes, "out");
    auto d_out = filled(context, stream, q_bytes, "d_out");
    auto dq = filled(context, stream, q_bytes, "dq");
    auto k = filled(context, stream, kv_bytes, "k"), v = filled(context, stream, kv_bytes, "v");
    auto dk = filled(context, stream, kv_bytes, "dk"), dv = filled(context, stream, kv_bytes, "dv");
    auto scratch = filled(context, stream, ops::attention_backward_scratch_bytes(shape), "scratch");
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::attention_backward(s, {.shape = shape,
                                  .q = q->span(),
                                  .k_cache = k->span(),
                                  .v_cache = v->span(),
                                  .out = o->span(),
                                  .d_out = d_out->span(),
                                  .dq = dq->span(),
                                  .dk = dk->span(),
                                  .dv = dv->span(),
                                  .scratch = scratch->span()});
    });
  };
  return c;
}

BenchCase forward_case(ops::DType type, uint32_t n, uint32_t m, uint32_t k) {
  BenchCase c;
  c.kernel = "gemm_" + std::string(ops::dtype_name(type));
  c.shape = std::to_string(n) + "x" + std::to_string(m) + "x" + std::to_string(k);
  c.flops = 2.0 * n * double(m) * k;
  c.bytes = 4.0 * (double(n) * k + double(n) * m) + double(ops::dtype_matrix_bytes(type, m, k, k));
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto x = filled(context, stream, uint64_t{n} * k * 4, "x");
    auto w = filled(context, stream, ops::dtype_matrix_bytes(type, m, k, k), "w");
    auto y = filled(context, stream, uint64_t{n} * m * 4, "y");
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::gemm(
          s,
          {.x = x->span(), .w = w->span(), .y = y->span(), .w_type = type, .n = n, .m = m, .k = k});
    });
  };
  return c;
}

std::vector<BenchCase> backward_cases(bool quick) {
  const uint32_t tokens = quick ? 64 : 256;
  return {forward_case(ops::DType::f32, tokens, 2048, 2048),
          linear_backward_case(ops::DType::f32, tokens, 2048, 2048),
          forward_case(ops::DType::bf16, tokens, 2048, 2048),
          linear_backward_case(ops::DType::bf16, tokens, 2048, 2048),
          rmsnorm_backward_case(tokens, 2048),
          swiglu_backward_case(uint64_t{tokens} * 4 * 1408),
          attention_backward_case(tokens, 16, 16, 128)};
}

}  // namespace

VKMOE_BENCH_CASES(backward_cases);

}  // namespace vkmoe::bench
