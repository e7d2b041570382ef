// Benchmark cases for the elementwise kernels.
#include <memory>
#include <vector>

#include "engine/ops/elementwise.h"
#include "tools/bench/bench_case.h"

namespace vkmoe::bench {
namespace {

BenchCase swiglu_case(uint64_t count) {
  BenchCase c;
  c.kernel = "swiglu";
  c.shape = std::to_string(count);
  c.bound = Bound::memory;
  c.flops = 0;
  c.bytes = 3.0 * 4.0 * double(count);
  c.prepare = [count](vk::Context& context, vk::Stream& stream) {
    auto gate = std::make_shared<vk::Buffer>(context.create_buffer(count * 4, "gate"));
    auto up = std::make_shared<vk::Buffer>(context.create_buffer(count * 4, "up"));
    auto out = std::make_shared<vk::Buffer>(context.create_buffer(count * 4, "out"));
    stream.fill(gate->span(), 0x3f000000u);
    stream.fill(up->span(), 0x3f800000u);
    return std::function<void(vk::Stream&)>([gate, up, out, count](vk::Stream& s) {
      ops::swiglu(s, gate->span(), up->span(), out->span(), count);
    });
  };
  return c;
}

std::vector<BenchCase> elementwise_cases(bool quick) {
  return {swiglu_case(quick ? (1u << 20) : (16u << 20))};
}

}  // namespace

VKMOE_BENCH_CASES(elementwise_cases);

}  // namespace vkmoe::bench
