#version 450
// Batched least squares for softmax-gated MoE regression. One workgroup per problem (one data
// set, one starting point). Each iteration computes the mean squared error
//   L = (1/n) sum_s (f(x_s) - y_s)^2,   f(x) = sum_i softmax_i(beta1_i . x + beta0_i) h(a_i . x + b_i)
// and its gradient over the problem's rows (a strided loop per invocation, then a column sum in
// shared memory), and takes one Adam step, projected onto the box [-bound, bound]. `iterations`
// steps run in one dispatch; with REPORT a last pass writes the loss and gradient at the final
// parameters to the report (iterations = 0: evaluate only).
//
// A pass may be split across dispatches (a driver that ends long loops, see engine/stats/
// README.md): each dispatch then sums the rows [row_begin, row_end) of every problem, adds the
// sums carried in the state buffer (CARRY_IN), and either stores them there (CARRY_OUT) or
// finishes the pass with them (one step, or the report). Such a dispatch makes one pass.
//
// Parameters per atom: [beta1 (D), beta0, a (D), b]. Gradients, with r = f - y, pi_i the gate:
//   dL/dbeta1_i = (2/n) sum r pi_i (h_i - f) x,  dL/dbeta0_i = (2/n) sum r pi_i (h_i - f),
//   dL/da_i     = (2/n) sum r pi_i h'_i x,       dL/db_i     = (2/n) sum r pi_i h'_i.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 64;
layout(constant_id = 1) const uint FAMILY = 2;  // 0 linear, 1 polynomial, 2 sigmoid, 3 tanh
layout(constant_id = 2) const uint DEGREE = 1;  // polynomial experts: h = z^DEGREE
layout(constant_id = 3) const uint K = 2;       // experts fitted
layout(constant_id = 4) const uint D = 1;       // dimension of x
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Data { float data[]; };
// Per problem: first row (relative to the bound data) and row count.
layout(std430, set = 0, binding = 1) readonly buffer Problems { uint problems[]; };
layout(std430, set = 0, binding = 2) buffer Params { float params[]; };
// Per problem (STATE floats): Adam's first moments (P), second moments (P), then the sums of a
// pass split across dispatches (P gradient entries, then the loss).
layout(std430, set = 0, binding = 3) buffer State { float state[]; };
// Per problem: loss, then P gradient entries.
layout(std430, set = 0, binding = 4) writeonly buffer Report { float report[]; };

layout(push_constant) uniform Push {
  uint problem_first;  // problem of workgroup 0
  uint data_first;     // alignment remainder of the data binding, in floats
  uint iterations;
  uint step_first;  // Adam step number (1-based) of this dispatch's first iteration
  float learning_rate;
  float log_decay;  // learning rate at step t: learning_rate * exp(log_decay * (t - 1))
  float beta1;
  float beta2;
  float epsilon;
  float bound;     // every parameter is kept in [-bound, bound] (the compact parameter set)
  uint row_begin;  // rows of each problem this dispatch sums (clipped to the problem's rows)
  uint row_end;
  uint flags;  // REPORT | CARRY_IN | CARRY_OUT
} p;

const uint REPORT = 1;     // after the steps, a pass that writes the report
const uint CARRY_IN = 2;   // add the sums stored by the previous part of the pass
const uint CARRY_OUT = 4;  // store the sums for the next part; no step, no report

#include "stats_moe.glsl"

const uint SLOTS = P + 1;  // gradient, then loss
const uint STATE = 2 * P + SLOTS;

shared float first_moment[MAX_P];
shared float second_moment[MAX_P];
shared float partial[GROUP_SIZE * SLOTS];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint problem = p.problem_first + gl_WorkGroupID.x;
  const uint row_first = problems[2 * problem];
  const uint rows = problems[2 * problem + 1];
  const uint base = problem * P;
  const uint held = problem * STATE;  // this problem's state
  const uint row_begin = min(p.row_begin, rows);
  const uint row_end = min(p.row_end, rows);
  const bool carry_in = (p.flags & CARRY_IN) != 0;
  const bool carry_out = (p.flags & CARRY_OUT) != 0;
  const uint passes = carry_out ? 1 : p.iterations + ((p.flags & REPORT) != 0 ? 1 : 0);

  for (uint q = lane; q < P; q += GROUP_SIZE) {
    theta[q] = params[base + q];
    first_moment[q] = state[held + q];
    second_moment[q] = state[held + P + q];
  }
  barrier();

  for (uint it = 0; it < passes; ++it) {
    float grad[MAX_P];
    for (uint q = 0; q < P; ++q) grad[q] = 0.0;
    float loss = 0.0;
    for (uint s = row_begin + lane; s < row_end; s += GROUP_SIZE) {
      const uint at = p.data_first + (row_first + s) * (D + 1);
      float jac[MAX_P];
      const float r = residual_and_jacobian(at, jac);
      loss += r * r;
      for (uint q = 0; q < P; ++q) grad[q] += r * jac[q];
    }

    for (uint q = 0; q < P; ++q) partial[lane * SLOTS + q] = grad[q];
    partial[lane * SLOTS + P] = loss;
    barrier();

    const float mean_scale = 1.0 / float(rows);
    const bool last = it == p.iterations;
    for (uint q = lane; q < SLOTS; q += GROUP_SIZE) {
      float sum = carry_in ? state[held + 2 * P + q] : 0.0;
      for (uint t = 0; t < GROUP_SIZE; ++t) sum += partial[t * SLOTS + q];
      const float value = (q == P ? 1.0 : 2.0) * mean_scale * sum;
      if (carry_out) {
        state[held + 2 * P + q] = sum;
      } else if (last) {
        report[problem * SLOTS + (q == P ? 0 : q + 1)] = value;
      } else if (q < P) {
        const uint step = p.step_first + it;
        const float rate = p.learning_rate * exp(p.log_decay * float(step - 1));
        const float m = p.beta1 * first_moment[q] + (1.0 - p.beta1) * value;
        const float v = p.beta2 * second_moment[q] + (1.0 - p.beta2) * value * value;
        first_moment[q] = m;
        second_moment[q] = v;
        const float m_hat = m / (1.0 - pow(p.beta1, float(step)));
        const float v_hat = v / (1.0 - pow(p.beta2, float(step)));
        theta[q] = clamp(theta[q] - rate * m_hat / (sqrt(v_hat) + p.epsilon), -p.bound, p.bound);
      }
    }
    // theta is read and partial rewritten by the next iteration.
    barrier();
  }

  for (uint q = lane; q < P; q += GROUP_SIZE) {
    params[base + q] = theta[q];
    state[held + q] = first_moment[q];
    state[held + P + q] = second_moment[q];
  }
}
