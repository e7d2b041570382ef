// One tile of gemm_shuffle.comp, included once per tile height: the caller defines TILE_RN (X rows
// per invocation) and the names MULTIPLY_TILE and ACCUMULATE, and declares acc, list_base (with
// EXPERTS), the bindings and the push constants.

// One k step (the scalar path): every invocation's X values go to all invocations.
void ACCUMULATE(const float x_mine[TILE_RN], const float w_mine[TM]) {
  [[unroll]] for (uint q = 0; q < TILE_RN; ++q) {
    [[unroll]] for (uint r = 0; r < SG; ++r) {
      const float xv = subgroupShuffle(x_mine[q], r);
      [[unroll]] for (uint j = 0; j < TM; ++j) {
        acc[(q * SG + r) * TM + j] = fma(xv, w_mine[j], acc[(q * SG + r) * TM + j]);
      }
    }
  }
}

// The tile of rows n0 .. n0 + SG * TILE_RN - 1 and columns from m0; w_origin is the first weight of
// the matrix, counted from weight_base.
void MULTIPLY_TILE(const uint n0, const uint m0, const uint n_rows, const uint w_origin) {
  const uint lane = gl_LocalInvocationID.x;
  // Rows past n or m read the last row (no branches around loads) and are not stored. Each
  // invocation reads the entries of its own rows once; the stores get them by shuffles.
  uint entry[TILE_RN], x_row[TILE_RN];
  [[unroll]] for (uint q = 0; q < TILE_RN; ++q) {
    entry[q] = ROW_ENTRY(min(n0 + lane + q * SG, n_rows - 1));
    x_row[q] = p.x_first + X_ROW(entry[q]) * p.x_stride;
  }
  [[unroll]] for (uint i = 0; i < (SG * TILE_RN) * TM; ++i) acc[i] = 0.0;

#ifdef WEIGHT_TRANSPOSED
  // Columns past m read the last column; with VECTOR (m a multiple of 8) a group of 8 lies
  // wholly inside or wholly past m, and groups past it read the last group.
  const uint column = m0 + lane * TM;
  uint scalar_from = 0;
  if (VECTOR == 1) {
    const uint groups = p.k / 8;
    for (uint g = 0; g < groups; ++g) {
      // X rows at k = 8g .. 8g+7, and this invocation's TM columns of W's rows 8g .. 8g+7 (the
      // groups of 8 past m read the last group).
      vec4 x_lo[TILE_RN], x_hi[TILE_RN], w[8][TM / 4];
      [[unroll]] for (uint q = 0; q < TILE_RN; ++q) {
        x_lo[q] = X_VECTOR(x_row[q] / 4 + 2 * g);
        x_hi[q] = X_VECTOR(x_row[q] / 4 + 2 * g + 1);
      }
      [[unroll]] for (uint kk = 0; kk < 8; ++kk) {
        const uint row = w_origin + (8 * g + kk) * p.w_stride;
        [[unroll]] for (uint t = 0; t < TM / 8; ++t) {
          load_weights8((row + min(column + 8 * t, p.m - 8)) / 8, w[kk][2 * t], w[kk][2 * t + 1]);
        }
      }
      [[unroll]] for (uint q = 0; q < TILE_RN; ++q) {
        [[unroll]] for (uint r = 0; r < SG; ++r) {
          float xr[8];  // row q * SG + r of the tile, 8 values of k
          [[unroll]] for (uint c = 0; c < 4; ++c) {
            xr[c] = subgroupShuffle(x_lo[q][c], r);
            xr[c + 4] = subgroupShuffle(x_hi[q][c], r);
          }
          [[unroll]] for (uint j = 0; j < TM; ++j) {
            float a = acc[(q * SG + r) * TM + j];
            [[unroll]] for (uint kk = 0; kk < 8; ++kk) a = fma(xr[kk], w[kk][j / 4][j % 4], a);
            acc[(q * SG + r) * TM + j] = a;
          }
        }
      }
    }
    scalar_from = groups * 8;
  }
  for (uint kk = scalar_from; kk < p.k; ++kk) {
    float x_mine[TILE_RN], w_mine[TM];
    [[unroll]] for (uint q = 0; q < TILE_RN; ++q) x_mine[q] = X_VALUE(x_row[q] + kk);
    [[unroll]] for (uint j = 0; j < TM; ++j) {
      w_mine[j] = load_weight(w_origin + kk * p.w_stride + min(column + j, p.m - 1));
    }
    ACCUMULATE(x_mine, w_mine);
  }
#else
  uint w_row[TM];
  [[unroll]] for (uint j = 0; j < TM; ++j) {
    w_row[j] = w_origin + min(m0 + lane * TM + j, p.m - 1) * p.w_stride;
  }
  uint scalar_from = 0;
  if (VECTOR == 1) {
    const uint groups = p.k / 8;
    for (uint g = 0; g < groups; ++g) {
      vec4 x_lo[TILE_RN], x_hi[TILE_RN], w_lo[TM], w_hi[TM];
      [[unroll]] for (uint q = 0; q < TILE_RN; ++q) {
        x_lo[q] = X_VECTOR(x_row[q] / 4 + 2 * g);
        x_hi[q] = X_VECTOR(x_row[q] / 4 + 2 * g + 1);
      }
      [[unroll]] for (uint j = 0; j < TM; ++j) load_weights8(w_row[j] / 8 + g, w_lo[j], w_hi[j]);
      // For each output, its 8 FMAs in a row: the accumulator is read and written once per
      // 8 k rather than once per k (the tile has more accumulators than the CPU registers).
      [[unroll]] for (uint q = 0; q < TILE_RN; ++q) {
        [[unroll]] for (uint r = 0; r < SG; ++r) {
          vec4 xr_lo, xr_hi;  // row q * SG + r of the tile, 8 values of k
          [[unroll]] for (uint c = 0; c < 4; ++c) {
            xr_lo[c] = subgroupShuffle(x_lo[q][c], r);
            xr_hi[c] = subgroupShuffle(x_hi[q][c], r);
          }
          [[unroll]] for (uint j = 0; j < TM; ++j) {
            float a = acc[(q * SG + r) * TM + j];
            [[unroll]] for (uint c = 0; c < 4; ++c) a = fma(xr_lo[c], w_lo[j][c], a);
            [[unroll]] for (uint c = 0; c < 4; ++c) a = fma(xr_hi[c], w_hi[j][c], a);
            acc[(q * SG + r) * TM + j] = a;
          }
        }
      }
    }
    scalar_from = groups * 8;
  }
  for (uint kk = scalar_from; kk < p.k; ++kk) {
    float x_mine[TILE_RN], w_mine[TM];
    [[unroll]] for (uint q = 0; q < TILE_RN; ++q) x_mine[q] = X_VALUE(x_row[q] + kk);
    [[unroll]] for (uint j = 0; j < TM; ++j) w_mine[j] = load_weight(w_row[j] + kk);
    ACCUMULATE(x_mine, w_mine);
  }
#endif

  [[unroll]] for (uint row = 0; row < (SG * TILE_RN); ++row) {
    const uint gn = n0 + row;
    if (gn >= n_rows) break;
#ifdef EXPERTS
    const uint y_row = subgroupShuffle(entry[row / SG], row % SG);
#else
    const uint y_row = gn;
#endif
#ifdef WEIGHT_TRANSPOSED
    [[unroll]] for (uint j = 0; j < TM; ++j) {
      const uint gm = column + j;
      if (gm >= p.m) continue;
      const uint at = p.y_first + y_row * p.y_stride + gm;
      y[at] = p.accumulate != 0 ? y[at] + acc[row * TM + j] : acc[row * TM + j];
    }
#else
    if (VECTOR_Y == 1) {
      // A group of 4 columns is wholly inside or wholly past m.
      [[unroll]] for (uint t = 0; t < TM / 4; ++t) {
        const uint gm = m0 + lane * TM + 4 * t, a = row * TM + 4 * t;
        if (gm < p.m) {
          y_vectors[(p.y_first + y_row * p.y_stride + gm) / 4] =
              vec4(acc[a], acc[a + 1], acc[a + 2], acc[a + 3]);
        }
      }
    } else {
      [[unroll]] for (uint j = 0; j < TM; ++j) {
        const uint gm = m0 + lane * TM + j;
        if (gm < p.m) y[p.y_first + y_row * p.y_stride + gm] = acc[row * TM + j];
      }
    }
#endif
  }
}
