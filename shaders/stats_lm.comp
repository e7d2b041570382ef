#version 450
// Levenberg-Marquardt refinement of batched softmax-gated MoE least squares. One workgroup per
// problem (one data set, one starting point), every problem advanced in the same dispatch.
//
// One pass over the rows accumulates the augmented normal matrix [J r]^T [J r] (J = df/dtheta,
// r = f - y), packed lower-triangular: it holds J^T J, J^T r and r^T r. Rows go through shared
// memory a tile at a time; each invocation owns a fixed set of matrix entries and adds the
// tile's products to them. A step solves (J^T J + lambda diag(J^T J)) delta = -J^T r by a
// Cholesky factorisation in shared memory, evaluates the loss at theta + delta (a second
// pass), and keeps the step only if the loss went down (lambda / 3), otherwise lambda * 4.
// `iterations` steps per dispatch; theta and lambda persist in buffers between dispatches. At
// the end the report holds the loss (1/n) r^T r and gradient (2/n) J^T r at the final theta.
//
// Where a pass over the rows is too long for one dispatch (a driver that ends long loops, see
// engine/stats/README.md) the launcher runs the same steps in two phases instead:
// - ACCUMULATE sums [J r]^T [J r] over rows [row_begin, row_end) at the pending point (the trial
//   point, or theta itself before the first step) into the state's `sums`, one dispatch per
//   part of the rows (the part with row_begin = 0 starts the sums);
// - STEP decides the pending trial by its loss sums[P][P] (kept: theta, lambda / 3 and the
//   normal matrix move to it; otherwise lambda * 4), writes the report, and with iterations = 1
//   solves for the next trial point.
// The trial's loss comes with its whole normal matrix, so a kept step needs no further pass.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 32;  // at least 32 (MAX_PER_LANE below)
layout(constant_id = 1) const uint FAMILY = 2;       // 0 linear, 1 polynomial, 2 sigmoid, 3 tanh
layout(constant_id = 2) const uint DEGREE = 1;
layout(constant_id = 3) const uint K = 2;
layout(constant_id = 4) const uint D = 1;
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Data { float data[]; };
layout(std430, set = 0, binding = 1) readonly buffer Problems { uint problems[]; };
layout(std430, set = 0, binding = 2) buffer Params { float params[]; };
// Per problem (`state_stride` floats): lambda, then for the split phases (stride STATE) the
// pending point (NONE, TRIAL or CURRENT), the trial point (P), the normal matrix at theta
// (ENTRIES) and the sums at the pending point (ENTRIES). The fused phase uses lambda only.
layout(std430, set = 0, binding = 3) buffer State { float state[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Report { float report[]; };

layout(push_constant) uniform Push {
  uint problem_first;
  uint data_first;
  uint iterations;
  float bound;     // trial points are projected onto [-bound, bound]
  uint row_begin;  // ACCUMULATE: rows of each problem summed (clipped to the problem's rows)
  uint row_end;
  uint phase;         // FUSED, ACCUMULATE or STEP
  uint state_stride;  // floats per problem in the state buffer: 1 (FUSED) or STATE
} p;

const uint FUSED = 0;
const uint ACCUMULATE = 1;
const uint STEP = 2;

const float NONE = 0.0;     // no pending point
const float TRIAL = 1.0;    // the trial point of the state
const float CURRENT = 2.0;  // theta itself, before the first step

#include "stats_moe.glsl"

const uint Q = P + 1;                      // augmented columns [J r]
const uint ENTRIES = Q * (Q + 1) / 2;      // packed lower triangle of [J r]^T [J r]
const uint SYSTEM = P * (P + 1) / 2;       // its J^T J part
const uint TILE = GROUP_SIZE * Q;          // one tile of rows
const uint WORK = TILE > ENTRIES ? TILE : ENTRIES;
const uint PER_LANE = (ENTRIES + GROUP_SIZE - 1) / GROUP_SIZE;
const uint MAX_PER_LANE = ((MAX_P + 1) * (MAX_P + 2) / 2 + 31) / 32;
const float MAX_DAMPING = 1.0e10;
const uint STATE = 2 + P + 2 * ENTRIES;    // state floats per problem for the split phases
const uint TRIAL_AT = 2;                   // offsets in a problem's state
const uint NORMAL_AT = TRIAL_AT + P;
const uint SUMS_AT = NORMAL_AT + ENTRIES;

shared float normal[ENTRIES];
shared float work[WORK];  // a tile of rows, or the Cholesky factor, or loss partials
shared float saved[MAX_P];
shared float step[MAX_P];
shared bool factored;

uint packed_index(uint row, uint col) { return row * (row + 1) / 2 + col; }

// Row of packed entry e (the largest r with r (r + 1) / 2 <= e).
uint packed_row(uint e) {
  uint r = uint((sqrt(8.0 * float(e) + 1.0) - 1.0) * 0.5);
  while (packed_index(r + 1, 0) <= e) ++r;
  while (packed_index(r, 0) > e) --r;
  return r;
}

// `normal` = [J r]^T [J r] over rows [begin, end) at theta. Call in uniform control flow.
void normal_equations(uint lane, uint first, uint begin, uint end) {
  float acc[MAX_PER_LANE];
  for (uint t = 0; t < PER_LANE; ++t) acc[t] = 0.0;
  for (uint tile = begin; tile < end; tile += GROUP_SIZE) {
    const uint s = tile + lane;
    if (s < end) {
      float jac[MAX_P];
      work[lane * Q + P] = residual_and_jacobian(p.data_first + (first + s) * (D + 1), jac);
      for (uint q = 0; q < P; ++q) work[lane * Q + q] = jac[q];
    } else {
      for (uint q = 0; q < Q; ++q) work[lane * Q + q] = 0.0;
    }
    barrier();
    for (uint t = 0; t < PER_LANE; ++t) {
      const uint e = lane + t * GROUP_SIZE;
      if (e < ENTRIES) {
        const uint r = packed_row(e);
        const uint c = e - packed_index(r, 0);
        float sum = 0.0;
        for (uint g = 0; g < GROUP_SIZE; ++g) sum += work[g * Q + r] * work[g * Q + c];
        acc[t] += sum;
      }
    }
    barrier();
  }
  for (uint t = 0; t < PER_LANE; ++t) {
    const uint e = lane + t * GROUP_SIZE;
    if (e < ENTRIES) normal[e] = acc[t];
  }
  barrier();
}

// r^T r at theta. Call in uniform control flow; every invocation gets the sum.
float loss_pass(uint lane, uint first, uint rows) {
  float sum = 0.0;
  for (uint s = lane; s < rows; s += GROUP_SIZE) {
    float jac[MAX_P];
    const float r = residual_and_jacobian(p.data_first + (first + s) * (D + 1), jac);
    sum += r * r;
  }
  work[lane] = sum;
  barrier();
  float total = 0.0;
  for (uint g = 0; g < GROUP_SIZE; ++g) total += work[g];
  barrier();
  return total;
}

// step = -(J^T J + lambda diag(J^T J))^-1 J^T r; sets `factored` false if the matrix is not
// positive definite in float. Call in uniform control flow.
void solve(uint lane, float lambda) {
  // A tiny absolute term keeps experts whose gate is ~0 everywhere (zero columns) solvable.
  float trace = 0.0;
  for (uint q = 0; q < P; ++q) trace += normal[packed_index(q, q)];
  const float floor_term = 1.0e-9 * trace / float(P) + 1.0e-30;
  for (uint e = lane; e < SYSTEM; e += GROUP_SIZE) {
    const uint r = packed_row(e);
    const bool diagonal = e == packed_index(r, r);
    work[e] = diagonal ? normal[e] * (1.0 + lambda) + floor_term : normal[e];
  }
  if (lane == 0) factored = true;
  barrier();
  for (uint j = 0; j < P; ++j) {
    const float pivot = work[packed_index(j, j)];
    if (!(pivot > 0.0) || isinf(pivot)) {
      if (lane == 0) factored = false;
      break;  // every invocation read the same pivot: uniform
    }
    const float root = sqrt(pivot);
    for (uint r = j + 1 + lane; r < P; r += GROUP_SIZE) work[packed_index(r, j)] /= root;
    barrier();
    if (lane == 0) work[packed_index(j, j)] = root;
    for (uint e = lane; e < SYSTEM; e += GROUP_SIZE) {
      const uint r = packed_row(e);
      const uint c = e - packed_index(r, 0);
      if (c > j) work[e] -= work[packed_index(r, j)] * work[packed_index(c, j)];
    }
    barrier();
  }
  barrier();
  if (lane == 0 && factored) {
    // L y = -J^T r, then L^T step = y.
    for (uint r = 0; r < P; ++r) {
      float v = -normal[packed_index(P, r)];
      for (uint c = 0; c < r; ++c) v -= work[packed_index(r, c)] * step[c];
      step[r] = v / work[packed_index(r, r)];
    }
    for (uint r = P; r-- > 0;) {
      float v = step[r];
      for (uint c = r + 1; c < P; ++c) v -= work[packed_index(c, r)] * step[c];
      step[r] = v / work[packed_index(r, r)];
    }
  }
  barrier();
}

// The whole refinement in one dispatch: the normal matrix at theta, then `iterations` steps.
void fused(uint lane, uint problem, uint first, uint rows) {
  float lambda = state[problem * p.state_stride];
  normal_equations(lane, first, 0, rows);
  float loss = normal[packed_index(P, P)];
  for (uint it = 0; it < p.iterations && lambda < MAX_DAMPING; ++it) {
    solve(lane, lambda);
    if (!factored) {
      lambda *= 4.0;
      continue;
    }
    for (uint q = lane; q < P; q += GROUP_SIZE) {
      saved[q] = theta[q];
      theta[q] = clamp(theta[q] + step[q], -p.bound, p.bound);
    }
    barrier();
    const float trial = loss_pass(lane, first, rows);
    if (trial < loss) {
      lambda = max(lambda / 3.0, 1.0e-9);
      normal_equations(lane, first, 0, rows);
      loss = normal[packed_index(P, P)];
    } else {
      for (uint q = lane; q < P; q += GROUP_SIZE) theta[q] = saved[q];
      barrier();
      lambda *= 4.0;
    }
  }
  if (lane == 0) state[problem * p.state_stride] = lambda;
}

// One part of a pass: sums[J r]^T [J r] over this dispatch's rows at the pending point.
void accumulate(uint lane, uint problem, uint first, uint rows) {
  const uint held = problem * p.state_stride;
  const float pending = state[held + 1];  // the same for the whole workgroup
  const uint begin = min(p.row_begin, rows), end = min(p.row_end, rows);
  if (pending == NONE || (begin == end && p.row_begin != 0)) return;
  if (pending == TRIAL) {
    for (uint q = lane; q < P; q += GROUP_SIZE) theta[q] = state[held + TRIAL_AT + q];
    barrier();
  }
  normal_equations(lane, first, begin, end);
  for (uint e = lane; e < ENTRIES; e += GROUP_SIZE) {
    const float before = p.row_begin == 0 ? 0.0 : state[held + SUMS_AT + e];
    state[held + SUMS_AT + e] = before + normal[e];
  }
}

// Decides the pending point, then (iterations = 1) solves for the next trial point.
void step_phase(uint lane, uint problem) {
  const uint held = problem * p.state_stride;
  float lambda = state[held];
  const float pending = state[held + 1];
  const bool take = pending == CURRENT ||
                    (pending == TRIAL && state[held + SUMS_AT + packed_index(P, P)] <
                                             state[held + NORMAL_AT + packed_index(P, P)]);
  if (pending == TRIAL) lambda = take ? max(lambda / 3.0, 1.0e-9) : lambda * 4.0;
  barrier();  // every invocation has read the state it is about to change
  for (uint e = lane; e < ENTRIES; e += GROUP_SIZE) {
    normal[e] = state[held + (take ? SUMS_AT : NORMAL_AT) + e];
    if (take) state[held + NORMAL_AT + e] = normal[e];
  }
  if (take && pending == TRIAL) {
    for (uint q = lane; q < P; q += GROUP_SIZE) theta[q] = state[held + TRIAL_AT + q];
  }
  barrier();
  float next = NONE;
  if (p.iterations > 0 && lambda < MAX_DAMPING) {
    solve(lane, lambda);
    if (factored) {
      for (uint q = lane; q < P; q += GROUP_SIZE) {
        state[held + TRIAL_AT + q] = clamp(theta[q] + step[q], -p.bound, p.bound);
      }
      next = TRIAL;
    } else {
      lambda *= 4.0;
    }
  }
  if (lane == 0) {
    state[held] = lambda;
    state[held + 1] = next;
  }
}

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint problem = p.problem_first + gl_WorkGroupID.x;
  const uint first = problems[2 * problem];
  const uint rows = problems[2 * problem + 1];
  const uint base = problem * P;
  for (uint q = lane; q < P; q += GROUP_SIZE) theta[q] = params[base + q];
  barrier();

  if (p.phase == ACCUMULATE) {
    accumulate(lane, problem, first, rows);
    return;
  }
  if (p.phase == STEP) {
    step_phase(lane, problem);
  } else {
    fused(lane, problem, first, rows);
  }

  const float mean_scale = 1.0 / float(rows);
  for (uint q = lane; q < P; q += GROUP_SIZE) {
    params[base + q] = theta[q];
    report[problem * Q + 1 + q] = 2.0 * mean_scale * normal[packed_index(P, q)];
  }
  if (lane == 0) report[problem * Q] = mean_scale * normal[packed_index(P, P)];
}
