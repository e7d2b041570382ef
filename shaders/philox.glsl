// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC11): a
// counter-based generator — the output is a pure function of (counter, key), so any element
// of a random tensor can be drawn by any invocation, in any order, reproducibly.
// normal_at(counter, key) turns one output into a standard normal by Box–Muller. The including
// shader enables GL_EXT_control_flow_attributes (the rounds are unrolled).
#ifndef VKMOE_PHILOX_GLSL
#define VKMOE_PHILOX_GLSL

uvec4 philox4x32_10(uvec4 counter, uvec2 key) {
  const uint M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const uint W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uvec4 c = counter;
  uvec2 k = key;
  [[unroll]] for (int round = 0; round < 10; ++round) {
    uint hi0, lo0, hi1, lo1;
    umulExtended(M0, c.x, hi0, lo0);
    umulExtended(M1, c.z, hi1, lo1);
    c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += uvec2(W0, W1);
  }
  return c;
}

// A standard normal from the first two words: u1 in (0, 1) (24 bits, never 0), u2 in [0, 1).
float normal_at(uvec4 counter, uvec2 key) {
  const uvec4 bits = philox4x32_10(counter, key);
  const float u1 = (float(bits.x >> 8) + 0.5) * (1.0 / 16777216.0);
  const float u2 = float(bits.y >> 8) * (1.0 / 16777216.0);
  return sqrt(-2.0 * log(u1)) * cos(6.28318530717958647692 * u2);
}

#endif
