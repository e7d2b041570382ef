"""Reads a vkmoe posterior file with nothing but json and numpy (the safetensors layout: u64
header length, JSON header, data section) and checks what tests/bayes/sample_posterior.h wrote."""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]])
        tensors[name] = arr.reshape(t["shape"])
    return tensors, meta


def main(path):
    tensors, meta = read_safetensors(path)
    assert meta["format"] == "vkmoe-bayes-moe-posterior", meta
    assert meta["format_version"] == "1", meta
    assert meta["layers"] == "1,3", meta
    assert meta["rank"] == "3" and meta["fisher"] == "mc" and meta["prior_mean"] == "map", meta
    assert meta["model_fingerprint"] == "fedcba9876543210", meta
    assert len(tensors) == 2 * 2 * 5 + 2, sorted(tensors)
    for layer in (1, 3):
        for e in (0, 1):
            r = 2 if (layer, e) == (3, 1) else 3
            p = f"layers.{layer}.experts.{e}."
            assert tensors[p + "qg"].shape == (6, r), (p, tensors[p + "qg"].shape)
            assert tensors[p + "lg"].shape == (r,)
            assert tensors[p + "qa"].shape == (4, r)
            assert tensors[p + "la"].shape == (r,)
            assert tensors[p + "m"].dtype == np.int64 and tensors[p + "m"].shape == (1,)
            assert int(tensors[p + "m"][0]) == 1000 * layer + e
            assert np.all(np.diff(tensors[p + "lg"]) < 0), "eigenvalues descending"
    assert np.allclose(tensors["lambda"], [0.25, 1 / 3]), tensors["lambda"]
    assert np.allclose(tensors["temperature"], [0.7])
    print("posterior file ok:", len(tensors), "tensors")


if __name__ == "__main__":
    main(sys.argv[1])
