#version 450
// FMA-chain probe: 32 independent chains of fused multiply-adds per invocation, long enough
// that arithmetic, not memory, bounds the kernel. Multiplier and addend come from push
// constants so the compiler cannot fold the chains.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Sink { vec4 sink[]; };

layout(push_constant) uniform Push {
  uint iterations;
  float multiplier;
  float addend;
} p;

void main() {
  const uint id = gl_GlobalInvocationID.x;
  const vec4 m = vec4(p.multiplier);
  const vec4 c = vec4(p.addend);
  vec4 a0 = vec4(float(id) * 1e-7, 0.1, 0.2, 0.3);
  vec4 a1 = a0 + 0.01, a2 = a0 + 0.02, a3 = a0 + 0.03;
  vec4 a4 = a0 + 0.04, a5 = a0 + 0.05, a6 = a0 + 0.06, a7 = a0 + 0.07;
  for (uint i = 0; i < p.iterations; ++i) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  sink[id] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
