// Benchmark cases for the matrix kernels: GEMM (prefill, compute-bound) and GEMV (decode,
// memory-bound), with weights in f32, f16, bf16 and GGUF's q8_0, q4_0 and q4_k, on the device's
// default layout with f32 arithmetic, and the GEMV fast paths beside it. Bytes count the
// weights as stored (the quants' blocks).
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/gemm.h"
#include "engine/ops/gemv.h"
#include "tools/bench/bench_case.h"

namespace vkmoe::bench {
namespace {

// Fills a buffer with small finite values of any of the dtypes (0x3c00 is 1.0 in f16 and
// 1/128 or so in bf16; as an f32 word 0x3c003c00 is about 0.0078; every quant block gets
// f16 scales of 1.0 and small codes).
constexpr uint32_t kFillWord = 0x3c003c00u;

BenchCase gemm_case(ops::DType type, uint32_t n, uint32_t m, uint32_t k) {
  BenchCase c;
  c.kernel = "gemm_" + std::string(ops::dtype_name(type));
  c.shape = std::to_string(n) + "x" + std::to_string(m) + "x" + std::to_string(k);
  c.bound = Bound::compute;
  c.flops = 2.0 * n * m * double(k);
  const uint64_t w_bytes = ops::dtype_matrix_bytes(type, m, k, k);
  c.bytes = double(n) * k * 4 + double(w_bytes) + double(n) * m * 4;
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto x = std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{n} * k * 4, "x"));
    auto w = std::make_shared<vk::Buffer>(context.create_buffer(w_bytes, "w"));
    auto y = std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{n} * m * 4, "y"));
    stream.fill(x->span(), kFillWord);
    stream.fill(w->span(), kFillWord);
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::gemm(
          s,
          {.x = x->span(), .w = w->span(), .y = y->span(), .w_type = type, .n = n, .m = m, .k = k});
    });
  };
  return c;
}

// Which GEMV path a case measures: the f32-arithmetic path of the device's default layout, or
// one fast path (engine/ops/fast_paths.h) in the same layout, named by its shader variant.
enum class GemvPath { f32, integer_dot, float16 };

ops::GemvConfig gemv_config(const vk::DeviceInfo& device, GemvPath path) {
  ops::GemvConfig config = ops::default_gemv_config(device);
  config.integer_dot = path == GemvPath::integer_dot;
  config.float16 = path == GemvPath::float16;
  return config;
}

BenchCase gemv_case(ops::DType type, uint32_t m, uint32_t k, GemvPath path = GemvPath::f32) {
  BenchCase c;
  const std::string name(ops::dtype_name(type));
  c.kernel = path == GemvPath::integer_dot ? "gemv_dot_" + name
             : path == GemvPath::float16   ? "gemv_" + name + "_f16math"
                                           : "gemv_" + name;
  if (path == GemvPath::integer_dot) {
    c.available = [](const vk::DeviceInfo& d) { return d.integer_dot_product; };
  } else if (path == GemvPath::float16) {
    c.available = [](const vk::DeviceInfo& d) { return d.shader_float16; };
  }
  c.shape = std::to_string(m) + "x" + std::to_string(k);
  c.bound = Bound::memory;
  c.flops = 2.0 * m * double(k);
  const uint64_t w_bytes = ops::dtype_matrix_bytes(type, m, k, k);
  c.bytes = double(w_bytes) + double(k) * 4 + double(m) * 4;
  c.prepare = [=](vk::Context& context, vk::Stream& stream) {
    auto w = std::make_shared<vk::Buffer>(context.create_buffer(w_bytes, "w"));
    auto x = std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{k} * 4, "x"));
    auto y = std::make_shared<vk::Buffer>(context.create_buffer(uint64_t{m} * 4, "y"));
    stream.fill(w->span(), kFillWord);
    stream.fill(x->span(), kFillWord);
    const ops::GemvConfig config = gemv_config(context.info(), path);
    return std::function<void(vk::Stream&)>([=](vk::Stream& s) {
      ops::gemv(s, {.w = w->span(),
                    .x = x->span(),
                    .y = y->span(),
                    .w_type = type,
                    .m = m,
                    .k = k,
                    .config = config});
    });
  };
  return c;
}

std::vector<BenchCase> matrix_cases(bool quick) {
  const uint32_t g = quick ? 256 : 1024;   // GEMM n = m = k
  const uint32_t v = quick ? 1024 : 4096;  // GEMV m = k
  std::vector<BenchCase> cases;
  for (ops::DType type :
       {ops::DType::f32, ops::DType::f16, ops::DType::bf16, ops::DType::q8_0, ops::DType::q4_k}) {
    cases.push_back(gemm_case(type, g, g, g));
  }
  for (ops::DType type : {ops::DType::f16, ops::DType::f32, ops::DType::bf16, ops::DType::q8_0,
                          ops::DType::q4_0, ops::DType::q4_k}) {
    cases.push_back(gemv_case(type, v, v));
  }
  // Fast paths beside the f32 path of the same layout (one run compares them).
  cases.push_back(gemv_case(ops::DType::f16, v, v, GemvPath::float16));
  cases.push_back(gemv_case(ops::DType::q8_0, v, v, GemvPath::integer_dot));
  cases.push_back(gemv_case(ops::DType::q4_0, v, v, GemvPath::integer_dot));
  return cases;
}

}  // namespace

VKMOE_BENCH_CASES(matrix_cases);

}  // namespace vkmoe::bench
