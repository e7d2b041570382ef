"""ggml block quantisers (Q8_0, Q4_0, Q4_K) and float encodings (F16, BF16), in numpy.

Written from the block layouts in ggml (ggml-common.h block_q8_0 / block_q4_0 / block_q4_K and
the decoders dequantize_row_q8_0 / _q4_0 / _q4_K in ggml-quants.c); the encoders are simple
round-to-nearest searches, not ggml's iterative ones, which is fine: any block that decodes
to values close to the input is a valid GGUF tensor, and the reference decodes whatever is
written here with its own decoder (tests/reference/ggml_dequant.py).

Every function takes a float32 array whose last dimension is a multiple of the block size and
returns the raw bytes, rows in the same order (GGUF row = last numpy axis).
"""
import numpy as np

QK8_0 = 32  # values per Q8_0 / Q4_0 block
QK_K = 256  # values per K-quant super-block

BLOCK_BYTES = {"Q8_0": 2 + 32, "Q4_0": 2 + 16, "Q4_K": 2 + 2 + 12 + 128}
BLOCK_SIZE = {"Q8_0": QK8_0, "Q4_0": QK8_0, "Q4_K": QK_K}


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even; NaN stays NaN."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    out = rounded.astype(np.uint16)
    out[np.isnan(x)] = 0x7FC0
    return out


def bf16_round(x):
    """The float32 values a bf16 checkpoint of x holds."""
    return (to_bf16_bits(x).astype(np.uint32) << 16).view(np.float32)


def _f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def _blocks(x, size):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape[-1] % size != 0:
        raise ValueError(f"row length {x.shape[-1]} is not a multiple of {size}")
    return x.reshape(-1, size)


def quantize_q8_0(x):
    """Q8_0 block: fp16 d, then 32 int8 q; value = q * d with d = max|x| / 127."""
    b = _blocks(x, QK8_0)
    d16 = _f16(np.abs(b).max(axis=1) / 127.0)
    d = d16.astype(np.float32)[:, None]
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.rint(b * inv), -127, 127).astype(np.int8)
    out = np.empty((b.shape[0], BLOCK_BYTES["Q8_0"]), dtype=np.uint8)
    out[:, 0:2] = d16.reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def quantize_q4_0(x):
    """Q4_0 block: fp16 d, then 16 bytes; element j < 16 in the low nibble of byte j, element
    j + 16 in its high nibble; value = (nibble - 8) * d with d = (signed value of max |x|) / -8."""
    b = _blocks(x, QK8_0)
    idx = np.abs(b).argmax(axis=1)
    signed_max = b[np.arange(b.shape[0]), idx]
    d16 = _f16(signed_max / -8.0)
    d = d16.astype(np.float32)[:, None]
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.floor(b * inv + 8.5), 0, 15).astype(np.uint8)
    out = np.empty((b.shape[0], BLOCK_BYTES["Q4_0"]), dtype=np.uint8)
    out[:, 0:2] = d16.reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def _pack_k4_scales(sc, mn):
    """Pack 8 six-bit scales and 8 six-bit mins into the 12-byte K-quant layout: bytes 0-3 hold
    scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7; bytes 4-7 hold mins 0-3 and the
    top 2 bits of mins 4-7; bytes 8-11 hold the low 4 bits of scale j+4 (low nibble) and of
    min j+4 (high nibble)."""
    out = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    out[:, 4:8] = (mn[:, 0:4] & 63) | ((mn[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:8] & 15) | ((mn[:, 4:8] & 15) << 4)
    return out


def quantize_q4_k(x):
    """Q4_K super-block of 256 = 8 sub-blocks of 32: fp16 d, fp16 dmin, 12 bytes of packed
    6-bit (scale, min) pairs, 128 bytes of nibbles. Value = d*scale_j*q - dmin*min_j.
    Nibbles: 64-value chunk c uses bytes 32c..32c+31; low nibbles are sub-block 2c, high
    nibbles sub-block 2c+1."""
    b = _blocks(x, QK_K).reshape(-1, 8, 32)
    lo = np.minimum(b.min(axis=2), 0.0)         # the min term is subtracted, so keep it <= 0
    hi = b.max(axis=2)
    sub_scale = (hi - lo) / 15.0
    sub_min = -lo
    d16 = _f16(sub_scale.max(axis=1) / 63.0)
    dmin16 = _f16(sub_min.max(axis=1) / 63.0)
    d = d16.astype(np.float32)[:, None]
    dmin = dmin16.astype(np.float32)[:, None]
    sc = np.clip(np.rint(np.divide(sub_scale, d, out=np.zeros_like(sub_scale), where=d != 0)), 0, 63)
    mn = np.clip(np.rint(np.divide(sub_min, dmin, out=np.zeros_like(sub_min), where=dmin != 0)), 0, 63)
    eff_scale = (d * sc)[:, :, None]
    eff_min = (dmin * mn)[:, :, None]
    q = np.rint(np.divide(b + eff_min, eff_scale, out=np.zeros_like(b), where=eff_scale != 0))
    q = np.clip(q, 0, 15).astype(np.uint8)
    qs = np.empty((b.shape[0], 128), dtype=np.uint8)
    for c in range(4):
        qs[:, 32 * c:32 * c + 32] = q[:, 2 * c, :] | (q[:, 2 * c + 1, :] << 4)
    out = np.empty((b.shape[0], BLOCK_BYTES["Q4_K"]), dtype=np.uint8)
    out[:, 0:2] = d16.reshape(-1, 1).view(np.uint8)
    out[:, 2:4] = dmin16.reshape(-1, 1).view(np.uint8)
    out[:, 4:16] = _pack_k4_scales(sc.astype(np.uint8), mn.astype(np.uint8))
    out[:, 16:] = qs
    return out.tobytes()


def encode(x, kind):
    """Raw GGUF bytes of float32 array x in tensor type kind."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if kind == "F32":
        return x.astype("<f4").tobytes()
    if kind == "F16":
        return x.astype("<f2").tobytes()
    if kind == "BF16":
        return to_bf16_bits(x).astype("<u2").tobytes()
    if kind == "Q8_0":
        return quantize_q8_0(x)
    if kind == "Q4_0":
        return quantize_q4_0(x)
    if kind == "Q4_K":
        return quantize_q4_k(x)
    raise ValueError(f"unknown tensor type {kind}")
