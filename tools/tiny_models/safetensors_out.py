"""safetensors files (one, or shards plus model.safetensors.index.json) as transformers'
save_pretrained writes them: an 8-byte little-endian header length, a JSON header mapping each
tensor name to {dtype, shape, data_offsets} (offsets relative to the end of the header), the
header padded with spaces to a multiple of 8, then the raw little-endian data."""
import json
import os

import numpy as np

from .quantize import to_bf16_bits


def _raw(array, dtype):
    if dtype == "F32":
        return np.ascontiguousarray(array, dtype="<f4").tobytes()
    if dtype == "BF16":
        return to_bf16_bits(array).astype("<u2").tobytes()
    if dtype == "F16":
        return np.ascontiguousarray(array, dtype="<f2").tobytes()
    raise ValueError(f"unsupported safetensors dtype {dtype}")


def write_file(path, tensors, dtype):
    """tensors: list of (name, float32 array); every tensor is stored as dtype."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, array in tensors:
        raw = _raw(array, dtype)
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    return offset


def write_checkpoint(directory, tensors, dtype, shards=1):
    """model.safetensors, or model-0000k-of-0000n.safetensors + index. Shards take equal numbers
    of tensors in checkpoint order, so a layer's experts straddle two shards, as they do in
    published checkpoints (the index, not the layer number, says where a tensor is)."""
    if shards <= 1:
        write_file(os.path.join(directory, "model.safetensors"), tensors, dtype)
        return
    item = 4 if dtype == "F32" else 2
    total = sum(a.size * item for _, a in tensors)
    bounds = [len(tensors) * k // shards for k in range(shards + 1)]
    weight_map = {}
    for k in range(shards):
        fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        group = tensors[bounds[k]:bounds[k + 1]]
        write_file(os.path.join(directory, fname), group, dtype)
        for name, _ in group:
            weight_map[name] = fname
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
