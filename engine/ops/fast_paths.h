// Which faster kernel paths a device may use, from its features. Each path has a test that
// compares it with the baseline path; VKMOE_DISABLE_FAST_PATHS=1 turns every one off, so the
// baseline kernels run on any device (for comparisons and as a way round a driver bug), and
// VKMOE_FORCE_FAST_PATHS=1 turns the GPU-only ones on for CPU devices too.
//
//   integer_dot: GEMV for Q8_0/Q4_0 weights with activations quantised to int8 blocks and
//                packed 4 x int8 dot products (VK_KHR_shader_integer_dot_product).
//   float16:     GEMV for F16 weights multiplying and adding in f16 (shaderFloat16), on GPUs
//                only: CPU drivers (lavapipe) report the feature but widen every f16
//                operation, and `vkmoe bench kernels` measured the path at 0.6-0.8x the f32 one
//                there. Its test runs it on any device with the feature by asking for it.
//   cooperative_matrix: the forward GEMMs (dense and expert-batched) on f16 cooperative
//                matrices with f32 accumulation (VK_KHR_cooperative_matrix,
//                shaders/gemm_coopmat.comp), on GPUs only: lavapipe (Mesa 26) has the extension
//                but runs it at 1/11 the shuffle kernel's speed (moe_gemm_f16, 128 tokens: 325
//                vs 30 ms). Its tests run it on any device with the extension
//                (.ci/coopmat-runtime.sh provides Mesa 26's lavapipe for CI).
#pragma once

#include "engine/vk/device_info.h"

namespace vkmoe::ops {

struct FastPaths {
  bool integer_dot = false;
  bool float16 = false;
  bool cooperative_matrix = false;
};

// True when VKMOE_DISABLE_FAST_PATHS is set to anything but "" or "0".
bool fast_paths_disabled();
// True when VKMOE_FORCE_FAST_PATHS=1: the GPU-only paths run on CPU devices too, so whole-model
// tests can take them on lavapipe (tests/model, the cooperative-matrix runtime).
bool fast_paths_forced();

// The paths `device` supports, or none when fast_paths_disabled().
FastPaths fast_paths(const vk::DeviceInfo& device);

}  // namespace vkmoe::ops
