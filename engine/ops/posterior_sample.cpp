#include "engine/ops/posterior_sample.h"

#include <algorithm>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroup = 64;

struct Push {
  uint32_t h, i, expert_first, seed_lo, seed_hi, stream_id, draw;
  float lambda, temperature;
  uint32_t w_first, out_first, w_expert_first;
};

}  // namespace

DType sample_type(DType w_type) {
  return dtype_is_quantized(w_type) ? DType::f16 : w_type;
}

void sample_posterior(vk::Stream& stream, const PosteriorSampleArgs& a) {
  vk::Context& context = stream.context();
  const std::string what = "sample_posterior (experts " + std::to_string(a.experts) + ", " +
                           std::to_string(a.h) + "x" + std::to_string(a.i) + ", rank " +
                           std::to_string(a.rank) + ")";
  if (a.experts == 0 || a.h == 0 || a.i == 0 || a.rank == 0 || a.rank > 64 || !(a.lambda > 0.0f) ||
      !(a.temperature > 0.0f)) {
    throw Error(what + ": sizes must be positive, the rank at most 64, λ and T positive");
  }
  const uint64_t E = a.experts, H = a.h, I = a.i, R = a.rank;
  check_whole_blocks(what, a.w_type, I, I);
  const DType out_type = sample_type(a.w_type);
  const uint64_t map_bytes = dtype_matrix_bytes(a.w_type, H, I, I);
  const uint64_t out_bytes = dtype_matrix_bytes(out_type, H, I, I);
  const uint64_t expert_bytes = std::max(map_bytes, out_bytes);
  struct Need {
    const vk::BufferSpan* span;
    uint64_t bytes;
    const char* name;
  };
  const Need needs[] = {{&a.q_g, E * H * R * 4, "q_g"},
                        {&a.q_a, E * I * R * 4, "q_a"},
                        {&a.spectra, E * (2 * R + 1) * 4, "spectra"},
                        {&a.work, E * H * R * 4, "work"},
                        {&a.core, E * R * R * 4, "core"},
                        {&a.w_map, E * map_bytes, "w_map"},
                        {&a.w_out, E * out_bytes, "w_out"}};
  const uint64_t range = context.max_binding_range();
  const uint64_t slack = std::max<uint64_t>(1, context.info().min_storage_buffer_offset_alignment);
  for (const Need& n : needs) {
    if (n.span->size < n.bytes) {
      throw Error(what + ": " + n.name + " has " + std::to_string(n.span->size) +
                  " bytes, the shape needs " + std::to_string(n.bytes));
    }
    if (n.span != &a.w_map && n.span != &a.w_out && n.bytes + slack > range) {
      throw Error(what + ": " + n.name + " is larger than one binding");
    }
  }
  if (expert_bytes + slack > range) {
    throw Error(what + ": one expert's matrix is larger than one binding");
  }
  if ((dtype_needs_16bit_storage(a.w_type) || out_type != DType::f32) &&
      !context.info().storage_buffer_16bit) {
    throw Error(what + ": the device cannot read 16-bit weights (no storageBuffer16BitAccess)");
  }
  // The posterior and scratch are indexed from 0: they must start on an aligned offset.
  vk::BufferSpan bound[5];
  for (int n = 0; n < 5; ++n) {
    const AlignedBinding b = align_binding(context, needs[n].span->sub(0, needs[n].bytes), 4);
    if (b.first_element != 0) {
      throw Error(what + ": " + needs[n].name + " must start at a multiple of the alignment");
    }
    bound[n] = b.span;
  }
  const vk::Binding bindings[] = {{bound[0], vk::Access::read},
                                  {bound[1], vk::Access::read},
                                  {bound[2], vk::Access::read},
                                  {bound[3], vk::Access::read_write},
                                  {bound[4], vk::Access::read_write}};
  const uint32_t specialization[] = {kGroup, a.rank, kGroup};
  Push push{a.h,
            a.i,
            0,
            static_cast<uint32_t>(a.seed),
            static_cast<uint32_t>(a.seed >> 32),
            a.stream_id,
            a.draw,
            a.lambda,
            a.temperature,
            0,
            0,
            0};
  const uint32_t max_z = context.info().max_workgroup_count[2];
  const auto pass = [&](const char* variant, std::span<const vk::Binding> b, vk::WorkGroups g,
                        uint32_t first, uint32_t count, double flops, double bytes) {
    const vk::Pipeline& pipeline = context.pipelines().get(
        variant, specialization, {static_cast<uint32_t>(b.size()), sizeof(Push)});
    push.expert_first = first;
    g.z = count;
    stream.dispatch(pipeline, b, push_bytes(push), g, variant, {flops, bytes});
  };
  const std::span<const vk::Binding> posterior(bindings);
  // For the kernel costs: bytes per weight read and written.
  const double dh = a.h, di = a.i, dr = a.rank,
               dw = double(map_bytes + out_bytes) / (double(H) * double(I));
  for (uint32_t first = 0; first < a.experts; first += max_z) {
    const uint32_t count = std::min(max_z, a.experts - first);
    const double n = count;
    pass("posterior_project", posterior, {a.h, 1, 1}, first, count, n * 2.0 * dh * di * dr,
         n * (di + dh) * dr * 4.0);
    pass("posterior_core", posterior, {static_cast<uint32_t>((R * R + kGroup - 1) / kGroup), 1, 1},
         first, count, n * 2.0 * dh * dr * dr, n * 2.0 * dh * dr * 4.0);
    vk::WorkGroups expand = linear_grid(context, H * R, kGroup);
    pass("posterior_expand", posterior, expand, first, count, n * 2.0 * dh * dr * dr,
         n * (dh * dr * 2 + dr * dr) * 4.0);
  }
  // W_MAP and the sample are bound a group of experts at a time.
  const auto per_group =
      static_cast<uint32_t>(std::min<uint64_t>({E, (range - slack) / expert_bytes, max_z}));
  const std::string apply =
      "posterior_apply_" + std::string(dtype_name(a.w_type)) +
      (out_type == a.w_type ? "" : "_to_" + std::string(dtype_name(out_type)));
  for (uint32_t first = 0; first < a.experts; first += per_group) {
    const uint32_t count = std::min(per_group, a.experts - first);
    const AlignedBinding bw = align_binding(
        context, a.w_map.sub(first * map_bytes, count * map_bytes), dtype_binding_unit(a.w_type));
    const AlignedBinding bo = align_binding(
        context, a.w_out.sub(first * out_bytes, count * out_bytes), dtype_binding_unit(out_type));
    vk::Binding all[7];
    std::copy(std::begin(bindings), std::end(bindings), all);
    all[5] = {bw.span, vk::Access::read};
    all[6] = {bo.span, vk::Access::write};
    push.w_first = bw.first_element;
    push.out_first = bo.first_element;
    push.w_expert_first = first;
    const double n = count;
    pass(apply.c_str(), all, linear_grid(context, H * I, kGroup), first, count,
         n * dh * di * (2.0 * dr + 40.0), n * (dh * di * dw + (dh + di) * dr * 4.0));
  }
}

}  // namespace vkmoe::ops
