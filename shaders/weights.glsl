// Reading weights stored as f32, f16 or bf16 (one of WEIGHT_F32, WEIGHT_F16, WEIGHT_BF16 is
// defined by the variant) and returning f32. The including shader defines WEIGHT_BINDING.
// 16-bit weights are read as uint16_t (storageBuffer16BitAccess) and widened by bit
// manipulation, so no fp16 arithmetic is needed: f16 through unpackHalf2x16, bf16 by moving
// its 16 bits into the upper half of an f32 (bf16 is a truncated f32).
//
// load_weights8(g, lo, hi) reads weights 8g .. 8g+7 with 16-byte loads (the same binding seen
// as an array of vectors), for kernels whose rows start on a multiple of 8 elements. Fewer,
// wider loads matter most on CPU devices, where every load instruction costs a loop over the
// SIMD lanes.
#ifndef VKMOE_WEIGHTS_GLSL
#define VKMOE_WEIGHTS_GLSL

#if defined(WEIGHT_F32)
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer Weights { float weights[]; };
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightVectors {
  vec4 weight_vectors[];
};
float load_weight(uint i) { return weights[i]; }
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  lo = weight_vectors[2 * g];
  hi = weight_vectors[2 * g + 1];
}
#elif defined(WEIGHT_F16) || defined(WEIGHT_BF16)
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer Weights { uint16_t weights[]; };
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightVectors {
  uvec4 weight_vectors[];
};
#if defined(WEIGHT_F16)
float load_weight(uint i) { return unpackHalf2x16(uint(weights[i])).x; }
vec2 unpack_pair(uint bits) { return unpackHalf2x16(bits); }
#else
float load_weight(uint i) { return uintBitsToFloat(uint(weights[i]) << 16); }
vec2 unpack_pair(uint bits) {
  return vec2(uintBitsToFloat(bits << 16), uintBitsToFloat(bits & 0xffff0000u));
}
#endif
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  const uvec4 bits = weight_vectors[g];
  lo = vec4(unpack_pair(bits.x), unpack_pair(bits.y));
  hi = vec4(unpack_pair(bits.z), unpack_pair(bits.w));
}
#else
#error "define WEIGHT_F32, WEIGHT_F16 or WEIGHT_BF16"
#endif

#endif
