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
layout(std430, set = 0, binding = 3) buffer Damping { float damping[]; };  // lambda per problem
layout(std430, set = 0, binding = 4) writeonly buffer Report { float report[]; };

layout(push_constant) uniform Push {
  uint problem_first;
  uint data_first;
  uint iterations;
  float bound;  // trial points are projected onto [-bound, bound]
} p;

#include "stats_moe.glsl"

const uint Q = P + 1;                      // augmented columns [J r]
const uint ENTRIES = Q * (Q + 1) / 2;      // packed lower triangle of [J r]^T [J r]
const uint SYSTEM = P * (P + 1) / 2;       // its J^T J part
const uint TILE = GROUP_SIZE * Q;          // one tile of rows
const uint WORK = TILE > ENTRIES ? TILE : ENTRIES;
const uint PER_LANE = (ENTRIES + GROUP_SIZE - 1) / GROUP_SIZE;
const uint MAX_PER_LANE = ((MAX_P + 1) * (MAX_P + 2) / 2 + 31) / 32;
const float MAX_DAMPING = 1.0e10;

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

// `normal` = [J r]^T [J r] at theta. Call in uniform control flow.
void normal_equations(uint lane, uint first, uint rows) {
  float acc[MAX_PER_LANE];
  for (uint t = 0; t < PER_LANE; ++t) acc[t] = 0.0;
  for (uint tile = 0; tile < rows; tile += GROUP_SIZE) {
    const uint s = tile + lane;
    if (s < rows) {
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

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint problem = p.problem_first + gl_WorkGroupID.x;
  const uint first = problems[2 * problem];
  const uint rows = problems[2 * problem + 1];
  const uint base = problem * P;
  for (uint q = lane; q < P; q += GROUP_SIZE) theta[q] = params[base + q];
  float lambda = damping[problem];
  barrier();

  normal_equations(lane, first, rows);
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
      normal_equations(lane, first, rows);
      loss = normal[packed_index(P, P)];
    } else {
      for (uint q = lane; q < P; q += GROUP_SIZE) theta[q] = saved[q];
      barrier();
      lambda *= 4.0;
    }
  }

  const float mean_scale = 1.0 / float(rows);
  for (uint q = lane; q < P; q += GROUP_SIZE) {
    params[base + q] = theta[q];
    report[problem * Q + 1 + q] = 2.0 * mean_scale * normal[packed_index(P, q)];
  }
  if (lane == 0) {
    report[problem * Q] = mean_scale * loss;
    damping[problem] = lambda;
  }
}
