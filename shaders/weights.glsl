// Reading weights stored as f32, f16, bf16 or one of GGUF's quantised blocks (one of
// WEIGHT_F32, WEIGHT_F16, WEIGHT_BF16, WEIGHT_Q8_0, WEIGHT_Q4_0, WEIGHT_Q4_K is defined by the
// variant) and returning f32. The including shader defines WEIGHT_BINDING and sets
// `weight_base` (the launcher's AlignedBinding::first_element) before the first load.
//
// load_weight(i) reads weight i and load_weights8(g, lo, hi) weights 8g .. 8g+7, where i and
// g count from weight_base. Plain types: 16-bit weights are read as uint16_t
// (storageBuffer16BitAccess) and widened by bit manipulation, so no fp16 arithmetic is
// needed: f16 through unpackHalf2x16, bf16 by moving its 16 bits into the upper half of an
// f32. load_weights8 uses 16-byte loads (the same binding seen as an array of vectors), for
// kernels whose rows start on a multiple of 8 elements. Fewer, wider loads matter most on CPU
// devices, where every load instruction costs a loop over the SIMD lanes.
//
// Quants are read in GGUF's own layout (no repacking: the device holds the file's bytes, and
// a row of `cols` weights is cols / 32 or cols / 256 whole blocks). Rows start on a block
// boundary, so weight i lies in block i / 32 (or i / 256) counted from weight_base, which for
// quants counts words rather than weights: uint16_t for q8_0 (34-byte blocks) and q4_0 (18
// bytes), whose blocks are only 2-byte aligned; uvec4 for q4_k, whose 144-byte blocks are
// whole 16-byte words. load_weights8 decodes 8 weights of one block at a time; any g works.
// load_weights32(b, w) decodes weights 32b .. 32b+31 (a Q8_0 or Q4_0 block, a Q4_K
// sub-block) with as few loads as the layout allows: the 2-byte-aligned blocks are read as
// 32-bit words from the word at or before the block, realigned by a 16-bit funnel shift, with
// their last two 16-bit words read as such so no load passes the block's end.
#ifndef VKMOE_WEIGHTS_GLSL
#define VKMOE_WEIGHTS_GLSL

uint weight_base;  // set by main(): the binding's first element (plain) or word (quants)

#if defined(WEIGHT_TEXELS)
// Plain types only: the weights as a read-only storage texel buffer of RGBA32UI texels (16 bytes
// each, bits unchanged), for CPU devices, where an imageLoad is inline code and a storage read a
// loop over the lanes. weight_base is a multiple of 16 bytes here (the launcher checks).
layout(set = 0, binding = WEIGHT_BINDING, rgba32ui) readonly uniform uimageBuffer weight_texels;
#endif
#if defined(WEIGHT_F32) && defined(WEIGHT_TEXELS)
float load_weight(uint i) {
  const uint e = weight_base + i;
  return uintBitsToFloat(imageLoad(weight_texels, int(e / 4))[e % 4]);
}
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  lo = uintBitsToFloat(imageLoad(weight_texels, int(weight_base / 4 + 2 * g)));
  hi = uintBitsToFloat(imageLoad(weight_texels, int(weight_base / 4 + 2 * g + 1)));
}
#elif defined(WEIGHT_F32)
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer Weights { float weights[]; };
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightVectors {
  vec4 weight_vectors[];
};
float load_weight(uint i) { return weights[weight_base + i]; }
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  lo = weight_vectors[weight_base / 4 + 2 * g];
  hi = weight_vectors[weight_base / 4 + 2 * g + 1];
}
#elif defined(WEIGHT_F16) || defined(WEIGHT_BF16)
#if defined(WEIGHT_F16)
vec2 unpack_pair(uint bits) { return unpackHalf2x16(bits); }
#else
vec2 unpack_pair(uint bits) {
  return vec2(uintBitsToFloat(bits << 16), uintBitsToFloat(bits & 0xffff0000u));
}
#endif
#if defined(WEIGHT_TEXELS)
float load_weight(uint i) {
  const uint e = weight_base + i;
  return unpack_pair(imageLoad(weight_texels, int(e / 8))[(e % 8) / 2])[e % 2];
}
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  const uvec4 bits = imageLoad(weight_texels, int(weight_base / 8 + g));
  lo = vec4(unpack_pair(bits.x), unpack_pair(bits.y));
  hi = vec4(unpack_pair(bits.z), unpack_pair(bits.w));
}
#else
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer Weights { uint16_t weights[]; };
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightVectors {
  uvec4 weight_vectors[];
};
#if defined(WEIGHT_F16)
float load_weight(uint i) { return unpackHalf2x16(uint(weights[weight_base + i])).x; }
#else
float load_weight(uint i) { return uintBitsToFloat(uint(weights[weight_base + i]) << 16); }
#endif
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  const uvec4 bits = weight_vectors[weight_base / 8 + g];
  lo = vec4(unpack_pair(bits.x), unpack_pair(bits.y));
  hi = vec4(unpack_pair(bits.z), unpack_pair(bits.w));
}
#endif
#if defined(WEIGHT_F16) && defined(F16_MATH)
// The same 8 weights as f16 values (a bit cast, no conversion), for shaders doing f16 math.
void load_weights8_f16(uint g, out f16vec4 lo, out f16vec4 hi) {
  const uvec4 bits = weight_vectors[weight_base / 8 + g];
  lo = f16vec4(unpackFloat2x16(bits.x), unpackFloat2x16(bits.y));
  hi = f16vec4(unpackFloat2x16(bits.z), unpackFloat2x16(bits.w));
}
#endif
#elif defined(WEIGHT_Q8_0) || defined(WEIGHT_Q4_0)
#define WEIGHT_QUANT 1
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer Weights { uint16_t weights[]; };
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightWords {
  uint weight_words[];
};
// Reads the block that starts at 16-bit word `block` of the binding: scale_bits gets its f16
// scale, codes[t] (t < N_CODE_WORDS) its code bytes 4t .. 4t+3. The 32-bit loads start at the
// block (even word) or 2 bytes before it (odd word; a 16-bit funnel shift realigns them), and
// the last code word comes from two 16-bit loads, so no load passes the block's end. A macro
// because GLSL functions cannot take arrays of different lengths.
#define LOAD_BLOCK_WORDS(N_CODE_WORDS, block, scale_bits, codes)                              \
  {                                                                                           \
    const uint first_word = (block) / 2;                                                      \
    const bool odd = ((block) % 2) == 1;                                                      \
    uint words[N_CODE_WORDS];                                                                 \
    [[unroll]] for (uint t = 0; t < N_CODE_WORDS; ++t) words[t] = weight_words[first_word + t]; \
    scale_bits = odd ? words[0] >> 16 : words[0] & 0xffffu;                                   \
    [[unroll]] for (uint t = 0; t + 1 < N_CODE_WORDS; ++t) {                                  \
      codes[t] = odd ? words[t + 1] : (words[t] >> 16) | (words[t + 1] << 16);                \
    }                                                                                         \
    codes[N_CODE_WORDS - 1] = uint(weights[(block) + 2 * N_CODE_WORDS - 1]) |                 \
                              (uint(weights[(block) + 2 * N_CODE_WORDS]) << 16);              \
  }
// Two 16-bit words as one 32-bit word (little-endian, as the bytes lie in the file).
uint load_word_pair(uint at) { return uint(weights[at]) | (uint(weights[at + 1]) << 16); }
#if defined(WEIGHT_Q8_0)
// Block: f16 d, then int8 q[32] in 16 words; weight e = d * q[e].
const uint BLOCK_WORDS = 17;
// The 4 bytes of `word` as signed values: each moved to the top, then arithmetic-shifted down
// (one vector shift pair rather than four bit-field extracts).
vec4 signed_bytes(uint word) {
  return vec4(ivec4(uvec4(word) << uvec4(24, 16, 8, 0)) >> 24);
}
float load_weight(uint i) {
  const uint block = weight_base + (i / 32) * BLOCK_WORDS, e = i % 32;
  const float d = unpackHalf2x16(uint(weights[block])).x;
  return d * float(bitfieldExtract(int(uint(weights[block + 1 + e / 2])), int(e % 2) * 8, 8));
}
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  const uint block = weight_base + (g / 4) * BLOCK_WORDS;
  const uint at = block + 1 + (g % 4) * 4;
  const float d = unpackHalf2x16(uint(weights[block])).x;
  lo = d * signed_bytes(load_word_pair(at));
  hi = d * signed_bytes(load_word_pair(at + 2));
}
void load_weights32(uint b, out vec4 w[8]) {
  uint scale_bits, codes[8];
  LOAD_BLOCK_WORDS(8, weight_base + b * BLOCK_WORDS, scale_bits, codes);
  const float d = unpackHalf2x16(scale_bits).x;
  [[unroll]] for (uint t = 0; t < 8; ++t) w[t] = d * signed_bytes(codes[t]);
}
#else
// Block: f16 d, then 16 bytes of nibbles in 8 words; byte j holds weight j (low nibble) and
// weight j + 16 (high nibble); weight = d * (nibble - 8).
const uint BLOCK_WORDS = 9;
vec4 nibbles(uint word, uint shift) {
  const uvec4 q = (uvec4(word, word >> 8, word >> 16, word >> 24) >> shift) & 0xfu;
  return vec4(q) - 8.0;
}
float load_weight(uint i) {
  const uint block = weight_base + (i / 32) * BLOCK_WORDS, e = i % 32;
  const float d = unpackHalf2x16(uint(weights[block])).x;
  const uint byte_pair = uint(weights[block + 1 + (e % 16) / 2]);
  return d * (float((byte_pair >> ((e % 2) * 8 + (e / 16) * 4)) & 0xfu) - 8.0);
}
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  // 8 weights from bytes 0..7 or 8..15 of the block, low or high nibbles.
  const uint block = weight_base + (g / 4) * BLOCK_WORDS;
  const uint at = block + 1 + (g % 2) * 4, shift = ((g % 4) / 2) * 4;
  const float d = unpackHalf2x16(uint(weights[block])).x;
  lo = d * nibbles(load_word_pair(at), shift);
  hi = d * nibbles(load_word_pair(at + 2), shift);
}
void load_weights32(uint b, out vec4 w[8]) {
  uint scale_bits, codes[4];
  LOAD_BLOCK_WORDS(4, weight_base + b * BLOCK_WORDS, scale_bits, codes);
  const float d = unpackHalf2x16(scale_bits).x;
  [[unroll]] for (uint t = 0; t < 4; ++t) {
    w[t] = d * nibbles(codes[t], 0);
    w[t + 4] = d * nibbles(codes[t], 4);
  }
}
#endif
#elif defined(WEIGHT_Q4_K)
#define WEIGHT_QUANT 1
// Block of 256 weights in 9 uvec4: word 0 holds f16 d and dmin, then the 12 bytes of 6-bit
// scales and mins of the 8 sub-blocks of 32; words 1..8 hold 128 bytes of nibbles, where
// bytes 32j .. 32j+31 carry sub-block 2j (low nibbles) and 2j+1 (high nibbles). Weight l of
// sub-block s is d * scale_s * nibble - dmin * min_s.
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer Weights { uint weights[]; };
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightPairs {
  uvec2 weight_pairs[];
};
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightVectors {
  uvec4 weight_vectors[];
};
const uint BLOCK_VECTORS = 9;
// The scale (x) and min (y) of sub-block s, each multiplied by its super-block factor. With
// t = s % 4, the bytes involved are byte t, 4 + t and 8 + t of the 12 (head.y, .z, .w shifted
// by 8t), so both cases are computed from the same three words and selected: no per-lane
// indexing into the vector.
vec2 sub_block_scale_min(uvec4 head, uint s) {
  const uint shift = (s % 4) * 8;
  const uint low = head.y >> shift, middle = head.z >> shift, high = head.w >> shift;
  const uint scale = s < 4 ? low & 63u : (high & 0xfu) | (((low >> 6) & 3u) << 4);
  const uint minimum = s < 4 ? middle & 63u : ((high >> 4) & 0xfu) | (((middle >> 6) & 3u) << 4);
  const vec2 d_dmin = unpackHalf2x16(head.x);
  return vec2(d_dmin.x * float(scale), d_dmin.y * float(minimum));
}
vec4 scaled_nibbles(uint word, uint shift, vec2 scale_min) {
  const uvec4 q = (uvec4(word, word >> 8, word >> 16, word >> 24) >> shift) & 0xfu;
  return scale_min.x * vec4(q) - scale_min.y;
}
float load_weight(uint i) {
  const uint block = weight_base + (i / 256) * BLOCK_VECTORS, e = i % 256;
  const uint s = e / 32, byte = (e / 64) * 32 + e % 32;
  const vec2 scale_min = sub_block_scale_min(weight_vectors[block], s);
  const uint word = weights[(block + 1) * 4 + byte / 4];
  return scale_min.x * float((word >> ((byte % 4) * 8 + (s % 2) * 4)) & 0xfu) - scale_min.y;
}
void load_weights8(uint g, out vec4 lo, out vec4 hi) {
  const uint block = weight_base + (g / 32) * BLOCK_VECTORS, e = (g % 32) * 8;
  const uint s = e / 32, byte = (e / 64) * 32 + e % 32;  // 8 bytes from `byte` on
  const vec2 scale_min = sub_block_scale_min(weight_vectors[block], s);
  const uvec2 words = weight_pairs[(block + 1) * 2 + byte / 8];
  lo = scaled_nibbles(words.x, (s % 2) * 4, scale_min);
  hi = scaled_nibbles(words.y, (s % 2) * 4, scale_min);
}
void load_weights32(uint b, out vec4 w[8]) {
  const uint block = weight_base + (b / 8) * BLOCK_VECTORS, s = b % 8;
  const vec2 scale_min = sub_block_scale_min(weight_vectors[block], s);
  const uvec4 lo = weight_vectors[block + 1 + (s / 2) * 2];
  const uvec4 hi = weight_vectors[block + 2 + (s / 2) * 2];
  const uint shift = (s % 2) * 4;
  [[unroll]] for (uint t = 0; t < 4; ++t) {
    w[t] = scaled_nibbles(lo[t], shift, scale_min);
    w[t + 4] = scaled_nibbles(hi[t], shift, scale_min);
  }
}
#else
#error "define WEIGHT_F32, WEIGHT_F16, WEIGHT_BF16, WEIGHT_Q8_0, WEIGHT_Q4_0 or WEIGHT_Q4_K"
#endif

#endif
