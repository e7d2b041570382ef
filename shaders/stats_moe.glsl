// The softmax-gated MoE regression function and its Jacobian, shared by the statistics-lab
// kernels. Include AFTER `layout(local_size_x_id = 0) in;` and after declaring the
// specialization constants FAMILY, DEGREE, K (experts) and D (dimension), and the buffer
//   Data { float data[]; }   rows of [x_1 .. x_D, y].
// Parameters per atom: [beta1 (D), beta0, a (D), b], read from the shared array `theta`.
#ifndef VKMOE_STATS_MOE_GLSL
#define VKMOE_STATS_MOE_GLSL

// Private arrays have fixed sizes; the host rejects larger K or D (stats::kMaxExperts, ...).
const uint MAX_K = 8;
const uint MAX_D = 4;
const uint MAX_P = MAX_K * (2 * MAX_D + 2);

const uint E = 2 * D + 2;  // parameters per atom
const uint P = K * E;

shared float theta[MAX_P];

// h(z) and h'(z) for the expert family.
float expert_value(float z, out float slope) {
  if (FAMILY == 0) {
    slope = 1.0;
    return z;
  } else if (FAMILY == 1) {
    float below = 1.0;  // z^(DEGREE-1), by products: pow() of a negative base is undefined
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

// For the row starting at data[at]: returns the residual r = f(x) - y and writes df/dtheta:
//   df/dbeta1_i = pi_i (h_i - f) x,  df/dbeta0_i = pi_i (h_i - f),
//   df/da_i     = pi_i h'_i x,       df/db_i     = pi_i h'_i.
float residual_and_jacobian(uint at, out float jac[MAX_P]) {
  float x[MAX_D];
  for (uint j = 0; j < D; ++j) x[j] = data[at + j];
  float gate[MAX_K];
  float h[MAX_K];
  float dh[MAX_K];
  float largest = -3.0e38;
  for (uint i = 0; i < K; ++i) {
    float g = theta[i * E + D];
    for (uint j = 0; j < D; ++j) g += theta[i * E + j] * x[j];
    gate[i] = g;
    largest = max(largest, g);
  }
  float total = 0.0;
  for (uint i = 0; i < K; ++i) {
    gate[i] = exp(gate[i] - largest);
    total += gate[i];
  }
  float f = 0.0;
  for (uint i = 0; i < K; ++i) {
    gate[i] /= total;
    float z = theta[i * E + 2 * D + 1];
    for (uint j = 0; j < D; ++j) z += theta[i * E + D + 1 + j] * x[j];
    h[i] = expert_value(z, dh[i]);
    f += gate[i] * h[i];
  }
  for (uint i = 0; i < K; ++i) {
    const float c = gate[i] * (h[i] - f);
    const float e = gate[i] * dh[i];
    for (uint j = 0; j < D; ++j) {
      jac[i * E + j] = c * x[j];
      jac[i * E + D + 1 + j] = e * x[j];
    }
    jac[i * E + D] = c;
    jac[i * E + 2 * D + 1] = e;
  }
  return f - data[at + D];
}

#endif
