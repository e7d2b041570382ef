#version 450
// The Kronecker factors of KFAC for the routed experts: C_e (+)= Σ_r x_r x_rᵀ over the rows of X
// listed for expert e — rows[offsets[e] .. offsets[e + 1]), summed in list order. X holds the
// rows the fit gathered across many examples (the down_proj inputs a for factor A, the output
// gradients g of every backward pass for factor G), so an expert's list is long and the sum is
// a GEMM with a long contraction. Grid z is the expert, so one dispatch covers a group of
// experts. f32 throughout.
//
// Laid out like gemm_shuffle.comp (the contraction runs over listed rows instead of a
// contiguous k): a workgroup is one subgroup of SG invocations computing an (SG * RI) x
// (SG * TJ) tile of C; per row, invocation l loads the RI consecutive values i0 + l·RI + q on
// the i side and the TJ consecutive values j0 + l·TJ + j on the j side — with VECTOR = 1 as
// 16-byte loads (rows start on a multiple of 4 elements; the launcher checks) — and
// subgroupShuffle hands every i value to all invocations, so a few loads feed SG * RI * TJ
// FMAs. On CPU devices, where a load whose address differs between lanes is a loop over the
// lanes, the wide loads are what makes it fast; the row index itself is the same for every
// lane (one scalar load per row). C is symmetric: tiles wholly below the diagonal exit at once,
// and a tile writes C[i][j] and its mirror C[j][i] for i <= j only, so every element is written
// exactly once per dispatch (accumulation needs no atomics).
//
// Rows [row_begin, row_end) of each list are covered per dispatch; the launcher splits long
// lists over several dispatches on drivers that bound loop iterations.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8;  // workgroup size = the device's subgroup size
layout(constant_id = 1) const uint TJ = 4;  // j columns per invocation
layout(constant_id = 2) const uint RI = 2;  // i values loaded per invocation (SG * RI rows)
layout(constant_id = 3) const uint VECTOR = 0;  // 1: 16-byte loads (RI, TJ multiples of 4)

// Rows of X per loop trip: STEP FMAs per accumulator load and store. The trip is unrolled into
// straight-line code of SG * RI * TJ * STEP FMAs per invocation, so on a CPU device the tile and
// STEP also set the loop's code size (the launcher picks them).
layout(constant_id = 4) const uint STEP = 8;

const uint TILE_I = SG * RI;
const uint TILE_J = SG * TJ;
const uint ROW_READS = (STEP + SG - 1) / SG;  // reads of the row list per trip

#ifdef X_TEXELS
// X as a read-only storage texel buffer of RGBA32UI texels (4 consecutive floats per texel, their
// bits unchanged: no format conversion can flush or canonicalise a value). On lavapipe an
// imageLoad is inline code, where a storage-buffer read is a loop over the lanes and a uniform
// texel fetch a call into a sampling function. Only the 16-byte path exists (VECTOR must be 1).
layout(set = 0, binding = 0, rgba32ui) readonly uniform uimageBuffer x_texels;
#define X_VECTOR(i) uintBitsToFloat(imageLoad(x_texels, int(i)))
#define X_VALUE(i) uintBitsToFloat(imageLoad(x_texels, int((i) / 4))[(i) % 4])
#else
layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 0) readonly buffer InputVectors { vec4 x_vectors[]; };
#define X_VECTOR(i) x_vectors[i]
#define X_VALUE(i) x[i]
#endif
layout(std430, set = 0, binding = 1) buffer Gram { float c[]; };
layout(std430, set = 0, binding = 2) readonly buffer Offsets { uint offsets[]; };
layout(std430, set = 0, binding = 3) readonly buffer Rows { uint rows[]; };

layout(push_constant) uniform Push {
  uint n;                  // C is n x n; rows of X hold n values
  uint x_stride;           // elements between rows of X
  uint x_first, c_first;   // first element of each binding (align_binding)
  uint offsets_first, rows_first;  // first element of the list bindings (align_binding)
  uint c_stride;           // elements from one expert's C to the next
  uint row_begin, row_end; // the part of each list this dispatch covers
  uint accumulate;         // 1: C += ..., 0: C = ...
} p;

float acc[TILE_I * TJ];  // acc[row * TJ + j]: row of the tile, column lane * TJ + j

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint j0 = gl_WorkGroupID.x * TILE_J;
  const uint i0 = gl_WorkGroupID.y * TILE_I;
  if (j0 + TILE_J <= i0) return;  // every (i, j) of the tile has j < i: the mirror's job
  const uint first = offsets[p.offsets_first + gl_WorkGroupID.z];
  const uint listed = min(offsets[p.offsets_first + gl_WorkGroupID.z + 1] - first, p.row_end);
  if (p.accumulate == 1 && listed <= p.row_begin) return;

  [[unroll]] for (uint t = 0; t < TILE_I * TJ; ++t) acc[t] = 0.0;
  const uint i_first = i0 + lane * RI, j_first = j0 + lane * TJ;

  const uint list_base = p.rows_first + first + p.row_begin;
  const uint total = listed > p.row_begin ? listed - p.row_begin : 0;
  // STEP rows at a time: each accumulator then takes STEP FMAs in a row, read and written once
  // (the tile has more accumulators than a CPU has registers). Rows past the end read the last
  // row with their j values set to 0, so they add nothing.
  for (uint v = 0; v < total; v += STEP) {
    // The STEP row numbers of this trip: invocation l reads list entries v + l, v + l + SG, ..
    // and a shuffle hands each to all. One read per invocation instead of STEP: on lavapipe a
    // read is a loop over the lanes, and reading every row number that way took 40% of the
    // kernel's time.
    uint row_numbers[ROW_READS];
    [[unroll]] for (uint t = 0; t < ROW_READS; ++t) {
      row_numbers[t] = rows[list_base + min(v + t * SG + lane, total - 1)];
    }
    float xi[STEP][RI], xj[STEP][TJ];
    [[unroll]] for (uint u = 0; u < STEP; ++u) {
      const bool valid = v + u < total;
      const uint base = p.x_first + subgroupShuffle(row_numbers[u / SG], u % SG) * p.x_stride;
      if (VECTOR == 1) {
        // n is a multiple of 4 here, so a group of 4 is wholly inside or wholly past n;
        // groups past n read the last group instead and are not stored.
        [[unroll]] for (uint q = 0; q < RI; q += 4) {
          const vec4 v = X_VECTOR((base + min(i_first + q, p.n - 4)) / 4);
          [[unroll]] for (uint c4 = 0; c4 < 4; ++c4) xi[u][q + c4] = v[c4];
        }
        [[unroll]] for (uint j = 0; j < TJ; j += 4) {
          const vec4 v = X_VECTOR((base + min(j_first + j, p.n - 4)) / 4);
          [[unroll]] for (uint c4 = 0; c4 < 4; ++c4) xj[u][j + c4] = valid ? v[c4] : 0.0;
        }
      } else {
        // Columns past n read the last column (no branches around loads), not stored.
        [[unroll]] for (uint q = 0; q < RI; ++q) xi[u][q] = X_VALUE(base + min(i_first + q, p.n - 1));
        [[unroll]] for (uint j = 0; j < TJ; ++j) {
          xj[u][j] = valid ? X_VALUE(base + min(j_first + j, p.n - 1)) : 0.0;
        }
      }
    }
    [[unroll]] for (uint s = 0; s < SG; ++s) {
      [[unroll]] for (uint q = 0; q < RI; ++q) {
        float xv[STEP];  // X[r + u][i0 + s * RI + q]
        [[unroll]] for (uint u = 0; u < STEP; ++u) xv[u] = subgroupShuffle(xi[u][q], s);
        [[unroll]] for (uint j = 0; j < TJ; ++j) {
          float sum = acc[(s * RI + q) * TJ + j];
          [[unroll]] for (uint u = 0; u < STEP; ++u) sum = fma(xv[u], xj[u][j], sum);
          acc[(s * RI + q) * TJ + j] = sum;
        }
      }
    }
  }

  const uint c_origin = p.c_first + gl_WorkGroupID.z * p.c_stride;
  [[unroll]] for (uint s = 0; s < SG; ++s) {
    [[unroll]] for (uint q = 0; q < RI; ++q) {
      const uint i = i0 + s * RI + q;
      [[unroll]] for (uint j = 0; j < TJ; ++j) {
        const uint col = j_first + j;
        if (i >= p.n || col >= p.n || col < i) continue;
        const float v = acc[(s * RI + q) * TJ + j];
        const uint upper = c_origin + i * p.n + col;
        c[upper] = p.accumulate == 1 ? c[upper] + v : v;
        if (col != i) {
          const uint lower = c_origin + col * p.n + i;
          c[lower] = p.accumulate == 1 ? c[lower] + v : v;
        }
      }
    }
  }
}
