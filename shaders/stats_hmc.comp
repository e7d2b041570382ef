#version 450
// Hamiltonian Monte Carlo for the Bayesian softmax-gated Gaussian MoE (engine/stats/
// bayes_model.h). One workgroup per chain: the invocations share the rows of the chain's data
// set for every log-density gradient (a strided loop, then a column sum in shared memory) and
// the parameters for the leapfrog updates. A transition may be cut into several dispatches
// (a driver that ends long loops, see engine/stats/README.md): BEGIN draws the momentum, the
// dispatch runs `steps` leapfrog steps, END accepts or rejects; everything a later dispatch
// needs is in the chain's state. The random numbers are Philox outputs at counters (chain,
// transition, index, purpose), so the draws depend only on the seed, never on the cut.
//
// Log density (the C++ reference is engine/stats/bayes_density.cpp), per atom
// [beta1 (D), beta0, a (D), b, v = log sigma^2]:
//   sum_s log sum_i pi_i(x_s) N(y_s | h_i(x_s), e^v_i) + sum over free parameters of
//   log N(beta | 0, gate_sd^2), log N(eta | 0, expert_sd^2), log InvGamma(e^v) + v.
// With responsibilities w_i = pi_i N_i / sum_l pi_l N_l and r_i = y - h_i:
//   d/dbeta1_i = (w_i - pi_i) x, d/dbeta0_i = w_i - pi_i, d/da_i = w_i r_i e^-v_i h'_i x,
//   d/db_i = w_i r_i e^-v_i h'_i, d/dv_i = w_i (r_i^2 e^-v_i - 1) / 2.
// With weight_concentration alpha > 0 the gate biases have, instead of their Gaussians, the
// Dirichlet(alpha) prior on pi = softmax(beta0) (bayes_model.h says why), when any is free:
//   lgamma(K alpha) - K lgamma(alpha) + alpha sum_i log pi_i,  d/dbeta0_j = alpha (1 - K pi_j).
// Power posteriors (thermodynamic integration): each chain has a temperature t and samples
// L(theta)^t prior(theta); the log likelihood sum and its gradient are scaled by t, the prior
// terms are not (t = 1 is the posterior, t = 0 the prior).
// The metric is diagonal: p ~ N(0, M), kinetic energy p^T M^-1 p / 2, M^-1 kept per chain.
// Step sizes adapt per chain by dual averaging (Hoffman & Gelman 2014, algorithm 5).
// Each transition takes a random number of leapfrog steps, uniform on {1, ..., L} (the same in
// all invocations of a chain): with a fixed trajectory length, HMC on a near-Gaussian
// posterior can return close to where it started or to the mirror point every time
// (lag-1 autocorrelations near -0.9 were seen with L = 8), and chains then disagree on spread.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 0) const uint GROUP_SIZE = 64;
layout(constant_id = 1) const uint FAMILY = 2;  // 0 linear, 1 polynomial, 2 sigmoid, 3 tanh
layout(constant_id = 2) const uint DEGREE = 1;
layout(constant_id = 3) const uint K = 2;
layout(constant_id = 4) const uint D = 1;
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Data { float data[]; };
// Per chain: first row of its data set (relative to the bound data), row count, and the bits
// of its temperature (a float).
layout(std430, set = 0, binding = 1) readonly buffer Chains { uint chains[]; };
layout(std430, set = 0, binding = 2) buffer State { float state[]; };
// Per parameter: 1 sampled, 0 held at its starting value.
layout(std430, set = 0, binding = 3) readonly buffer Free { uint free_mask[]; };
// Per stored draw and chain: parameters, log density, acceptance probability, divergent.
layout(std430, set = 0, binding = 4) writeonly buffer Draws { float draws[]; };

layout(push_constant) uniform Push {
  uint chain_first;  // chain of workgroup 0
  uint data_first;   // alignment remainder of the data binding, in floats
  uint seed_low;
  uint seed_high;
  uint transition;  // index of the transition this dispatch belongs to
  uint steps;       // leapfrog steps in this dispatch
  uint step_first;  // index of its first step within the transition
  uint max_steps;   // L: a transition takes uniform{1, ..., L} steps
  uint flags;
  uint draw;  // STORE: index of the draw written
  uint chain_count;
  float gate_sd;
  float expert_sd;
  float noise_shape;
  float noise_scale;
  float noise_log_norm;  // shape log(scale) - lgamma(shape)
  float target_accept;
  float gamma;
  float t0;
  float kappa;
  float weight_concentration;  // alpha of the Dirichlet prior on softmax(beta0); 0: Gaussian beta0
  float weight_log_norm;       // lgamma(K alpha) - K lgamma(alpha)
} p;

const uint EVALUATE = 1;     // log density and gradient at the position, into the state
const uint BEGIN = 2;        // draw the momentum, remember the start
const uint END = 4;          // accept or reject
const uint ADAPT = 8;        // dual-averaging update of the step size (with END)
const uint WELFORD = 16;     // add the position to the running variance (after END)
const uint SET_METRIC = 32;  // M^-1 from the running variance; restart it and the averaging
const uint FREEZE = 64;      // end of warm-up: the step size becomes the averaged one
const uint STORE = 128;      // write the position as draw `draw`

#include "philox.glsl"

const uint MAX_K = 8;
const uint MAX_D = 4;
const uint E = 2 * D + 3;  // parameters per atom
const uint P = K * E;
const uint MAX_P = MAX_K * (2 * MAX_D + 3);

// The chain's state, in floats from its start (bayes_hmc.cpp mirrors these offsets).
const uint POSITION = 0;
const uint GRADIENT = P;
const uint MOMENTUM = 2 * P;
const uint START_POSITION = 3 * P;
const uint START_GRADIENT = 4 * P;
const uint INVERSE_METRIC = 5 * P;
const uint RUNNING_MEAN = 6 * P;
const uint RUNNING_M2 = 7 * P;
const uint LOG_DENSITY = 8 * P;
const uint START_LOG_DENSITY = LOG_DENSITY + 1;
const uint START_ENERGY = LOG_DENSITY + 2;
const uint LOG_STEP = LOG_DENSITY + 3;
const uint LOG_STEP_AVERAGE = LOG_DENSITY + 4;
const uint ERROR_AVERAGE = LOG_DENSITY + 5;
const uint ADAPT_COUNT = LOG_DENSITY + 6;
const uint RUNNING_COUNT = LOG_DENSITY + 7;
const uint ANCHOR = LOG_DENSITY + 8;  // mu = log(10 step) of the averaging
const uint STATE = LOG_DENSITY + 9;

const uint SLOTS = P + 1;  // gradient, then log likelihood

shared float theta[MAX_P];
shared float momentum[MAX_P];
shared float gradient[MAX_P];
shared float inverse_metric[MAX_P];
shared float log_density;
shared float start_energy;  // kept in shared memory: BEGIN and END may share a dispatch
shared float partial[GROUP_SIZE * SLOTS];

float expert_value(float z, out float slope) {
  if (FAMILY == 0) {
    slope = 1.0;
    return z;
  } else if (FAMILY == 1) {
    float below = 1.0;
    for (uint i = 1; i < DEGREE; ++i) below *= z;
    slope = float(DEGREE) * below;
    return below * z;
  } else if (FAMILY == 2) {
    const float s = 1.0 / (1.0 + exp(-z));
    slope = s * (1.0 - s);
    return s;
  }
  const float t = tanh(z);
  slope = 1.0 - t * t;
  return t;
}

// Log likelihood of one row; adds its gradient to `grad`.
float row_log_likelihood(uint at, inout float grad[MAX_P]) {
  float x[MAX_D];
  for (uint j = 0; j < D; ++j) x[j] = data[at + j];
  const float y = data[at + D];
  float logit[MAX_K], h[MAX_K], dh[MAX_K], joint[MAX_K];
  float largest = -3.0e38;
  for (uint i = 0; i < K; ++i) {
    float g = theta[i * E + D];
    float z = theta[i * E + 2 * D + 1];
    for (uint j = 0; j < D; ++j) {
      g += theta[i * E + j] * x[j];
      z += theta[i * E + D + 1 + j] * x[j];
    }
    logit[i] = g;
    largest = max(largest, g);
    h[i] = expert_value(z, dh[i]);
  }
  float gate_sum = 0.0;
  for (uint i = 0; i < K; ++i) gate_sum += exp(logit[i] - largest);
  const float log_normaliser = largest + log(gate_sum);
  float joint_largest = -3.0e38;
  for (uint i = 0; i < K; ++i) {
    const float r = y - h[i];
    logit[i] -= log_normaliser;  // log pi_i
    joint[i] = logit[i] - 0.91893853320467274 - 0.5 * theta[i * E + 2 * D + 2] -
               0.5 * r * r * exp(-theta[i * E + 2 * D + 2]);
    joint_largest = max(joint_largest, joint[i]);
  }
  float joint_sum = 0.0;
  for (uint i = 0; i < K; ++i) joint_sum += exp(joint[i] - joint_largest);
  const float ll = joint_largest + log(joint_sum);
  for (uint i = 0; i < K; ++i) {
    const float w = exp(joint[i] - ll);
    const float inverse_variance = exp(-theta[i * E + 2 * D + 2]);
    const float r = y - h[i];
    const float by_logit = w - exp(logit[i]);
    const float by_mean = w * r * inverse_variance * dh[i];
    for (uint j = 0; j < D; ++j) {
      grad[i * E + j] += by_logit * x[j];
      grad[i * E + D + 1 + j] += by_mean * x[j];
    }
    grad[i * E + D] += by_logit;
    grad[i * E + 2 * D + 1] += by_mean;
    grad[i * E + 2 * D + 2] += 0.5 * w * (r * r * inverse_variance - 1.0);
  }
  return ll;
}

// log_density and gradient at theta; every invocation calls it (it has barriers).
void evaluate(uint lane, uint row_at, uint rows, float temperature) {
  float grad[MAX_P];
  for (uint q = 0; q < P; ++q) grad[q] = 0.0;
  float ll = 0.0;
  for (uint s = lane; s < rows; s += GROUP_SIZE) {
    ll += row_log_likelihood(row_at + s * (D + 1), grad);
  }
  for (uint q = 0; q < P; ++q) partial[lane * SLOTS + q] = grad[q];
  partial[lane * SLOTS + P] = ll;
  barrier();
  // Softmax of the gate biases (every invocation, from shared theta): the Dirichlet prior's.
  const bool dirichlet = p.weight_concentration > 0.0;
  bool any_bias_free = false;
  float bias_largest = -3.0e38;
  for (uint i = 0; i < K; ++i) {
    any_bias_free = any_bias_free || free_mask[i * E + D] != 0;
    bias_largest = max(bias_largest, theta[i * E + D]);
  }
  float bias_sum = 0.0;
  for (uint i = 0; i < K; ++i) bias_sum += exp(theta[i * E + D] - bias_largest);
  const float bias_log_normaliser = bias_largest + log(bias_sum);
  for (uint q = lane; q < SLOTS; q += GROUP_SIZE) {
    float sum = 0.0;
    for (uint t = 0; t < GROUP_SIZE; ++t) sum += partial[t * SLOTS + q];
    sum *= temperature;
    if (q < P) {
      // The prior of a free parameter; log p terms go to the last slot below.
      const uint o = q % E;
      float slope = 0.0;
      if (o == 2 * D + 2) {
        slope = p.noise_scale * exp(-theta[q]) - p.noise_shape;
      } else if (o == D && dirichlet) {
        slope = p.weight_concentration * (1.0 - float(K) * exp(theta[q] - bias_log_normaliser));
      } else {
        const float sd = o <= D ? p.gate_sd : p.expert_sd;
        slope = -theta[q] / (sd * sd);
      }
      gradient[q] = free_mask[q] != 0 ? sum + slope : 0.0;
    } else {
      float prior = 0.0;
      for (uint r = 0; r < P; ++r) {
        if (free_mask[r] == 0) continue;
        const uint o = r % E;
        if (o == 2 * D + 2) {
          prior += p.noise_log_norm - p.noise_shape * theta[r] - p.noise_scale * exp(-theta[r]);
        } else if (o != D || !dirichlet) {
          const float sd = o <= D ? p.gate_sd : p.expert_sd;
          prior += -0.5 * theta[r] * theta[r] / (sd * sd) - log(sd) - 0.91893853320467274;
        }
      }
      if (dirichlet && any_bias_free) {
        prior += p.weight_log_norm;
        for (uint i = 0; i < K; ++i) {
          prior += p.weight_concentration * (theta[i * E + D] - bias_log_normaliser);
        }
      }
      log_density = sum + prior;
    }
  }
  barrier();
}

float kinetic_energy() {
  float sum = 0.0;
  for (uint q = 0; q < P; ++q) sum += inverse_metric[q] * momentum[q] * momentum[q];
  return 0.5 * sum;
}

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint chain = p.chain_first + gl_WorkGroupID.x;
  if (chain >= p.chain_count) return;  // uniform per workgroup: no barrier is skipped by part
  const uint row_at = p.data_first + chains[3 * chain] * (D + 1);
  const uint rows = chains[3 * chain + 1];
  const float temperature = uintBitsToFloat(chains[3 * chain + 2]);
  const uint base = chain * STATE;
  const uvec2 key = uvec2(p.seed_low, p.seed_high);

  for (uint q = lane; q < P; q += GROUP_SIZE) {
    theta[q] = state[base + POSITION + q];
    gradient[q] = state[base + GRADIENT + q];
    momentum[q] = state[base + MOMENTUM + q];
    inverse_metric[q] = state[base + INVERSE_METRIC + q];
  }
  if (lane == 0) {
    log_density = state[base + LOG_DENSITY];
    start_energy = state[base + START_ENERGY];
  }
  barrier();

  if ((p.flags & EVALUATE) != 0) evaluate(lane, row_at, rows, temperature);

  if ((p.flags & BEGIN) != 0) {
    for (uint q = lane; q < P; q += GROUP_SIZE) {
      const float z = normal_at(uvec4(chain, p.transition, q, 0u), key);
      momentum[q] = free_mask[q] != 0 ? z / sqrt(inverse_metric[q]) : 0.0;
      state[base + START_POSITION + q] = theta[q];
      state[base + START_GRADIENT + q] = gradient[q];
    }
    barrier();
    if (lane == 0) {
      state[base + START_LOG_DENSITY] = log_density;
      start_energy = kinetic_energy() - log_density;
    }
    barrier();
  }

  const float step = exp(state[base + LOG_STEP]);
  const uint chain_steps = 1u + philox4x32_10(uvec4(chain, p.transition, 0u, 2u), key).x % p.max_steps;
  for (uint l = 0; l < p.steps; ++l) {
    if (p.step_first + l >= chain_steps) break;  // uniform in the workgroup
    for (uint q = lane; q < P; q += GROUP_SIZE) {
      momentum[q] += 0.5 * step * gradient[q];
      theta[q] += step * inverse_metric[q] * momentum[q];
    }
    barrier();
    evaluate(lane, row_at, rows, temperature);
    for (uint q = lane; q < P; q += GROUP_SIZE) momentum[q] += 0.5 * step * gradient[q];
    barrier();
  }

  if ((p.flags & END) != 0) {
    const float energy = kinetic_energy() - log_density;
    const float change = start_energy - energy;  // log of the acceptance ratio
    // A non-finite or huge energy error is a divergence: the proposal is rejected.
    const bool divergent = !(change > -1000.0);
    const float accept = divergent ? 0.0 : min(1.0, exp(change));
    const float u =
        float(philox4x32_10(uvec4(chain, p.transition, 0u, 1u), key).x >> 8) * (1.0 / 16777216.0);
    const bool keep = u < accept;
    barrier();  // everyone has read the energy before theta may change
    if (!keep) {
      for (uint q = lane; q < P; q += GROUP_SIZE) {
        theta[q] = state[base + START_POSITION + q];
        gradient[q] = state[base + START_GRADIENT + q];
      }
      if (lane == 0) log_density = state[base + START_LOG_DENSITY];
    }
    barrier();
    if (lane == 0) {
      if ((p.flags & ADAPT) != 0) {
        const float m = state[base + ADAPT_COUNT] + 1.0;
        const float weight = 1.0 / (m + p.t0);
        const float error = (1.0 - weight) * state[base + ERROR_AVERAGE] +
                            weight * (p.target_accept - accept);
        const float log_step = state[base + ANCHOR] - sqrt(m) / p.gamma * error;
        const float eta = pow(m, -p.kappa);
        state[base + ADAPT_COUNT] = m;
        state[base + ERROR_AVERAGE] = error;
        state[base + LOG_STEP] = log_step;
        state[base + LOG_STEP_AVERAGE] =
            eta * log_step + (1.0 - eta) * state[base + LOG_STEP_AVERAGE];
      }
      if ((p.flags & STORE) != 0) {
        const uint at = (p.draw * p.chain_count + chain) * (P + 3);
        draws[at + P] = log_density;
        draws[at + P + 1] = accept;
        draws[at + P + 2] = divergent ? 1.0 : 0.0;
      }
    }
    if ((p.flags & STORE) != 0) {
      const uint at = (p.draw * p.chain_count + chain) * (P + 3);
      for (uint q = lane; q < P; q += GROUP_SIZE) draws[at + q] = theta[q];
    }
    if ((p.flags & WELFORD) != 0) {
      const float n = state[base + RUNNING_COUNT] + 1.0;
      for (uint q = lane; q < P; q += GROUP_SIZE) {
        const float mean = state[base + RUNNING_MEAN + q];
        const float delta = theta[q] - mean;
        const float updated = mean + delta / n;
        state[base + RUNNING_MEAN + q] = updated;
        state[base + RUNNING_M2 + q] += delta * (theta[q] - updated);
      }
      barrier();
      if (lane == 0) state[base + RUNNING_COUNT] = n;
    }
  }

  if ((p.flags & SET_METRIC) != 0) {
    // Stan's regularised variance estimate: shrunk towards 1e-3 with weight 5 / (n + 5).
    const float n = state[base + RUNNING_COUNT];
    for (uint q = lane; q < P; q += GROUP_SIZE) {
      const float variance = n > 1.0 ? state[base + RUNNING_M2 + q] / (n - 1.0) : 1.0;
      inverse_metric[q] = (n / (n + 5.0)) * variance + 1.0e-3 * (5.0 / (n + 5.0));
      state[base + RUNNING_MEAN + q] = 0.0;
      state[base + RUNNING_M2 + q] = 0.0;
    }
    barrier();
    if (lane == 0) {
      state[base + RUNNING_COUNT] = 0.0;
      state[base + ANCHOR] = log(10.0) + state[base + LOG_STEP];
      state[base + ADAPT_COUNT] = 0.0;
      state[base + ERROR_AVERAGE] = 0.0;
      state[base + LOG_STEP_AVERAGE] = 0.0;
    }
  }
  if ((p.flags & FREEZE) != 0 && lane == 0) {
    state[base + LOG_STEP] = state[base + LOG_STEP_AVERAGE];
  }

  barrier();
  for (uint q = lane; q < P; q += GROUP_SIZE) {
    state[base + POSITION + q] = theta[q];
    state[base + GRADIENT + q] = gradient[q];
    state[base + MOMENTUM + q] = momentum[q];
    state[base + INVERSE_METRIC + q] = inverse_metric[q];
  }
  if (lane == 0) {
    state[base + LOG_DENSITY] = log_density;
    state[base + START_ENERGY] = start_energy;
  }
}
