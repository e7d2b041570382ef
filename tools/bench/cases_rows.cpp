// Benchmark cases for the row kernels (rmsnorm, softmax, rope, top-k, row sums) at the shapes
// a prefill of 512 tokens gives them. All are memory-bound: their fraction of peak is taken
// against the copy probe.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/reduce.h"
#include "engine/ops/rmsnorm.h"
#include "engine/ops/rope.h"
#include "engine/ops/softmax.h"
#include "engine/ops/topk.h"
#include "tools/bench/bench_case.h"

namespace vkmoe::bench {
namespace {

using Run = std::function<void(vk::Stream&)>;

constexpr uint32_t kHalf = 0x3f000000u;  // 0.5f

// A device buffer of `floats` words, every word set to `word`.
std::shared_ptr<vk::Buffer> filled(vk::Context& context, vk::Stream& stream, uint64_t floats,
                                   uint32_t word, const char* name) {
  auto buffer = std::make_shared<vk::Buffer>(context.create_buffer(floats * 4, name));
  stream.fill(buffer->span(), word);
  return buffer;
}

std::string rows_shape(uint32_t rows, uint32_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

BenchCase rmsnorm_case(uint32_t rows, uint32_t cols) {
  const double n = double(rows) * cols;
  BenchCase c{"rmsnorm", rows_shape(rows, cols), Bound::memory, 4.0 * n, 8.0 * n + 4.0 * cols, {}};
  c.prepare = [rows, cols](vk::Context& context, vk::Stream& stream) {
    auto x = filled(context, stream, uint64_t{rows} * cols, kHalf, "x");
    auto w = filled(context, stream, cols, kHalf, "weight");
    auto out = filled(context, stream, uint64_t{rows} * cols, 0, "out");
    return Run([=](vk::Stream& s) {
      ops::rmsnorm(s, x->span(), w->span(), out->span(), rows, cols, 1e-6f);
    });
  };
  return c;
}

BenchCase softmax_case(uint32_t rows, uint32_t cols) {
  const double n = double(rows) * cols;
  BenchCase c{"softmax", rows_shape(rows, cols), Bound::memory, 6.0 * n, 8.0 * n, {}};
  c.prepare = [rows, cols](vk::Context& context, vk::Stream& stream) {
    auto x = filled(context, stream, uint64_t{rows} * cols, kHalf, "x");
    auto out = filled(context, stream, uint64_t{rows} * cols, 0, "out");
    return Run([=](vk::Stream& s) { ops::softmax(s, x->span(), out->span(), rows, cols); });
  };
  return c;
}

BenchCase row_sums_case(uint32_t rows, uint32_t cols) {
  const double n = double(rows) * cols;
  BenchCase c{"row_sums", rows_shape(rows, cols), Bound::memory, n, 4.0 * (n + rows), {}};
  c.prepare = [rows, cols](vk::Context& context, vk::Stream& stream) {
    auto x = filled(context, stream, uint64_t{rows} * cols, kHalf, "x");
    auto out = filled(context, stream, rows, 0, "out");
    return Run([=](vk::Stream& s) { ops::row_sums(s, x->span(), out->span(), rows, cols); });
  };
  return c;
}

// In place, as the model applies it to q.
BenchCase rope_case(uint32_t tokens, uint32_t heads, uint32_t head_dim) {
  const double n = double(tokens) * heads * head_dim;
  BenchCase c{"rope",
              std::to_string(tokens) + "x" + std::to_string(heads) + "x" + std::to_string(head_dim),
              Bound::memory,
              15.5 * n,
              8.0 * n + 4.0 * tokens,
              {}};
  c.prepare = [tokens, heads, head_dim](vk::Context& context, vk::Stream& stream) {
    auto x = filled(context, stream, uint64_t{tokens} * heads * head_dim, kHalf, "x");
    auto positions = filled(context, stream, tokens, 1234, "positions");
    const std::vector<float> inv_freq = ops::rope_inv_freq(1e6f, head_dim);
    auto frequencies = filled(context, stream, inv_freq.size(), 0, "inv_freq");
    stream.upload(frequencies->span(), inv_freq.data(), inv_freq.size() * 4);
    const ops::RopeShape shape{tokens, heads, head_dim, head_dim};
    return Run([=](vk::Stream& s) {
      const ops::RopeTensor q{x->span()};
      ops::rope(s, shape, q, positions->span(), frequencies->span(), q);
    });
  };
  return c;
}

BenchCase topk_case(uint32_t rows, uint32_t cols, uint32_t k) {
  const double n = double(rows) * cols;
  BenchCase c{"topk",
              rows_shape(rows, cols) + "_k" + std::to_string(k),
              Bound::memory,
              n * cols,
              4.0 * n + 8.0 * rows * k,
              {}};
  c.prepare = [rows, cols, k](vk::Context& context, vk::Stream& stream) {
    auto x = filled(context, stream, uint64_t{rows} * cols, kHalf, "scores");
    auto values = filled(context, stream, uint64_t{rows} * k, 0, "values");
    auto indices = filled(context, stream, uint64_t{rows} * k, 0, "indices");
    return Run([=](vk::Stream& s) {
      ops::topk(s, x->span(), values->span(), indices->span(), rows, cols, k);
    });
  };
  return c;
}

std::vector<BenchCase> row_cases(bool quick) {
  const uint32_t tokens = quick ? 64 : 512;
  return {rmsnorm_case(tokens, 4096),        softmax_case(tokens, 4096),
          softmax_case(16 * tokens, tokens),  // attention scores: 16 heads x tokens x tokens
          rope_case(tokens, 16, 128),        topk_case(tokens, 64, 8),
          topk_case(tokens, 160, 6),         row_sums_case(tokens, 4096)};
}

}  // namespace

VKMOE_BENCH_CASES(row_cases);

}  // namespace vkmoe::bench
