"""Decoders for the GGUF tensor types the engine reads: F32, F16, BF16, Q8_0, Q4_0, Q4_K.

Written from ggml's block definitions (ggml-common.h: block_q8_0, block_q4_0, block_q4_K) and
decoders (ggml-quants.c: dequantize_row_q8_0, dequantize_row_q4_0, dequantize_row_q4_K with
get_scale_min_k4). Independent of the encoders in tools/tiny_models/quantize.py on purpose.
All functions take the raw little-endian bytes of a tensor and its element count and return
float32 values in storage order.
"""
import numpy as np

# ggml_type id -> (name, values per block, bytes per block)
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    8: ("Q8_0", 32, 34),
    12: ("Q4_K", 256, 144),
    30: ("BF16", 1, 2),
}

_Q8_0 = np.dtype([("d", "<f2"), ("qs", "i1", (32,))])
_Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_Q4_K = np.dtype([("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", (12,)), ("qs", "u1", (128,))])


def nbytes(type_id, count):
    name, per_block, size = GGML_TYPES[type_id]
    if count % per_block:
        raise ValueError(f"{name}: {count} values is not a whole number of {per_block}-value blocks")
    return count // per_block * size


def bf16_to_f32(bits):
    """bfloat16 is the top half of a float32: widen by shifting the bits up 16 places."""
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def q8_0(raw, count):
    b = np.frombuffer(raw, dtype=_Q8_0, count=count // 32)
    return (b["d"].astype(np.float32)[:, None] * b["qs"].astype(np.float32)).reshape(-1)


def q4_0(raw, count):
    b = np.frombuffer(raw, dtype=_Q4_0, count=count // 32)
    low = (b["qs"] & 0x0F).astype(np.int16) - 8    # elements 0..15
    high = (b["qs"] >> 4).astype(np.int16) - 8     # elements 16..31
    q = np.concatenate([low, high], axis=1).astype(np.float32)
    return (b["d"].astype(np.float32)[:, None] * q).reshape(-1)


def k4_scale_min(scales):
    """Six-bit (scale, min) of the 8 sub-blocks from the 12 packed bytes, per super-block:
    sub-blocks 0-3 use the low 6 bits of bytes j and j+4; sub-blocks 4-7 take their low 4 bits
    from byte j+4 (scale: low nibble, min: high nibble) and their top 2 bits from the top of
    bytes j-4 (scale) and j (min)."""
    s = scales.astype(np.uint16)
    sc = np.empty((s.shape[0], 8), dtype=np.uint16)
    mn = np.empty((s.shape[0], 8), dtype=np.uint16)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            mn[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 0x0F) | ((s[:, j - 4] >> 6) << 4)
            mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, mn


def q4_k(raw, count):
    b = np.frombuffer(raw, dtype=_Q4_K, count=count // 256)
    d = b["d"].astype(np.float32)[:, None]
    dmin = b["dmin"].astype(np.float32)[:, None]
    sc, mn = k4_scale_min(b["scales"])
    out = np.empty((b.shape[0], 256), dtype=np.float32)
    for chunk in range(4):                      # 64 values per chunk of 32 bytes
        qs = b["qs"][:, 32 * chunk:32 * chunk + 32]
        for half, q in enumerate((qs & 0x0F, qs >> 4)):
            j = 2 * chunk + half                # sub-block: low nibbles first, then high
            scale = d * sc[:, j:j + 1].astype(np.float32)
            minimum = dmin * mn[:, j:j + 1].astype(np.float32)
            out[:, 32 * j:32 * j + 32] = scale * q.astype(np.float32) - minimum
    return out.reshape(-1)


def dequantize(type_id, raw, count):
    """float32 values of `count` elements of ggml type `type_id` stored in `raw`."""
    if type_id not in GGML_TYPES:
        raise ValueError(f"ggml type {type_id} is not supported by the reference")
    need = nbytes(type_id, count)
    if len(raw) < need:
        raise ValueError(f"tensor needs {need} bytes, {len(raw)} available")
    raw = raw[:need]
    name = GGML_TYPES[type_id][0]
    if name == "F32":
        return np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
    if name == "F16":
        return np.frombuffer(raw, dtype="<f2", count=count).astype(np.float32)
    if name == "BF16":
        return bf16_to_f32(np.frombuffer(raw, dtype="<u2", count=count))
    return {"Q8_0": q8_0, "Q4_0": q4_0, "Q4_K": q4_k}[name](raw, count)
