// GEMM: Y[n, m] = X[n, k] . W[m, k]^T, the product of activations with an nn.Linear weight.
// X and Y are f32; W is f32, f16, bf16 or a GGUF quant (q8_0, q4_0, q4_k: k and the W row
// stride then whole blocks); accumulation is f32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ops/launch.h"
#include "engine/vk/device_info.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

// Which shader computes the product:
//   tiled:   shaders/gemm.comp, shared-memory tiles; the portable baseline.
//   shuffle: shaders/gemm_shuffle.comp, one subgroup per workgroup sharing loads through
//            subgroupShuffle, no shared memory; for CPU devices (needs subgroup shuffle).
//   coopmat: shaders/gemm_coopmat.comp, cooperative matrices (VK_KHR_cooperative_matrix) in f16
//            with f32 accumulation: X and W are rounded to f16 (|X| < 65504), so results
//            differ from the f32 kernels by about 1e-3 of sum |x w|. Forward products only.
enum class GemmKernel { tiled, shuffle, coopmat };

// The workgroup tile: wg_m x wg_n invocations, each computing tn x tm outputs; the tile of Y
// is (wg_n*tn) x (wg_m*tm). coopmat: wg_m x wg_n subgroups, each computing tn x tm matrices
// of `matrix`, so the tile is (wg_n*tn*matrix.m) x (wg_m*tm*matrix.n); bk a multiple of
// matrix.k. tiled stages bk values of k per shared-memory step. shuffle
// needs wg_n = 1, wg_m no larger than the device's smallest subgroup, and tn a multiple of
// wg_m (each invocation loads tn / wg_m rows of X and shares them); bk is unused.
struct GemmTiles {
  GemmKernel kernel = GemmKernel::tiled;
  uint32_t wg_m = 16, wg_n = 16;
  uint32_t tm = 4, tn = 4;
  uint32_t bk = 16;
  // shuffle: read X, and W of plain types, as RGBA32UI texels where texel_binding (launch.h)
  // allows it (CPU devices; 1.2-1.4x on lavapipe). false: storage reads (tests compare the two).
  bool x_texels = true;
  // shuffle, expert-batched: about how many workgroups the grid holds (expert_gemm_grid); each
  // loops over the tiles the grid leaves over. Tests use 1: one workgroup per expert takes all.
  uint32_t workgroups = 64;
  // coopmat: one of the device's cooperative_matrix_shapes.
  vk::CooperativeMatrixShape matrix{16, 16, 16};
};

// The subgroup size the cooperative-matrix kernel runs with: 32 where the device allows it (AMD's
// RDNA matrix instructions are wave32; NVIDIA's subgroups are 32), else the device's default. The
// pipeline requires it where the size varies.
uint32_t coopmat_subgroup_size(const vk::DeviceInfo& device);

// Rows (of X and Y) and columns (of Y) of one workgroup tile.
uint32_t gemm_tile_rows(const GemmTiles& tiles);
uint32_t gemm_tile_columns(const GemmTiles& tiles);

// Tiles that work on every device the engine supports (subgroups 8..64, 32 KiB shared memory).
GemmTiles baseline_gemm_tiles();
// The tiles measured fastest for the device's class (CPU, discrete GPU, ...) among the f32
// kernels; the backward products use these.
GemmTiles default_gemm_tiles(const vk::DeviceInfo& device);
// Cooperative-matrix tiles for the device, or nullopt where it or this build lacks them
// (the extension, an f16 x f16 -> f32 subgroup shape, shaderFloat16, vulkanMemoryModel,
// subgroups of one size,
// the kernels: shaders/CMakeLists.txt builds them only with tools that know the extension).
std::optional<GemmTiles> coopmat_gemm_tiles(const vk::DeviceInfo& device);
// The forward products' tiles when none are given: coopmat_gemm_tiles() where fast_paths()
// allow it (GPUs), else default_gemm_tiles().
GemmTiles forward_gemm_tiles(const vk::DeviceInfo& device);
// Throws Error naming the problem when `tiles` cannot run on `device`.
void check_gemm_tiles(const vk::DeviceInfo& device, const GemmTiles& tiles);
// The shuffle kernel's tile height shrunk towards `rows` (the rows of the product, or an
// expert's expected share of them): a taller tile computes clamped copies of its last row.
// Powers of two keep the pipelines few. Tiled tiles come back unchanged.
GemmTiles fit_tile_rows(GemmTiles tiles, uint64_t rows);
// The grid of an expert-batched GEMM over `columns` outputs with `tiles` (after fit_tile_rows),
// for `group` experts of the layer's `experts`. A tiled workgroup takes one tile: the grid covers
// every column and every token. A shuffle workgroup loops over column tiles and over its
// expert's row tiles, so its grid covers the mean count and only as many column tiles as keep
// `tiles.workgroups` workgroups busy: on a CPU device every workgroup costs about 2 us even when it
// exits at once, which was a quarter of the expert GEMM at 128 tokens with one workgroup per tile.
vk::WorkGroups expert_gemm_grid(const GemmTiles& tiles, uint32_t columns, uint32_t tokens,
                                uint64_t entries, uint32_t experts, uint32_t group);

// The shader variant of `kernel` for W of `w_type`: "<prefix>_<type>", "<prefix>_shuffle_<type>"
// or "<prefix>_coopmat_<type>" (prefix "gemm" or "moe_gemm").
std::string gemm_variant(std::string_view prefix, GemmKernel kernel, DType w_type);
// The specialization constants of the forward kernels for tiles `t` (after fit_tile_rows);
// vector chooses 16-byte loads (shuffle and coopmat kernels), vector_y the shuffle kernel's
// 16-byte stores.
std::vector<uint32_t> gemm_specialization(const vk::DeviceInfo& device, const GemmTiles& t,
                                          bool vector, bool vector_y);

// The bindings of the shuffle kernel's *_texels variants: X (f32 rows x_stride apart) always, W
// too for the plain types (quantised W stays a storage buffer). nullopt unless every one of them
// can be a texel binding (texel_binding) with its rows on whole 16-byte texels.
struct GemmTexels {
  AlignedBinding x;
  std::optional<AlignedBinding> w;
  uint32_t bindings = 0;  // KernelLayout::texel_bindings: bit 0 X, bit 1 W
};
std::optional<GemmTexels> gemm_texels(const vk::Context& context, vk::BufferSpan x,
                                      uint32_t x_stride, vk::BufferSpan w, DType w_type,
                                      uint32_t w_stride);

struct GemmArgs {
  vk::BufferSpan x;  // [n rows, k] f32, rows x_stride elements apart
  vk::BufferSpan w;  // [m rows, k] of w_type, rows w_stride elements apart
  vk::BufferSpan y;  // [n rows, m] f32, rows y_stride elements apart (written)
  DType w_type = DType::f32;
  uint32_t n = 0, m = 0, k = 0;
  // Row strides in elements; 0 means dense (k for X and W, m for Y).
  uint32_t x_stride = 0, w_stride = 0, y_stride = 0;
  std::optional<GemmTiles> tiles;  // unset: forward_gemm_tiles()
};

// Records the product into `stream`. A W (or X, Y) larger than one binding is split into
// several dispatches over rows. Throws Error on shapes that do not fit the spans.
void gemm(vk::Stream& stream, const GemmArgs& args);

}  // namespace vkmoe::ops
