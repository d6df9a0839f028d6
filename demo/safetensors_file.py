"""The safetensors format as the demo's scripts need it (imported by class_token.py and export_backbone.py):
a file is an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
range, and the raw little-endian data."""
import json
import struct

import numpy as np

FLOATS = {"F32": np.float32, "F16": np.float16}


def read(path):
    """name → (dtype name, shape, raw bytes) in file order, and the header's __metadata__ (or None)."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    meta = header.pop("__metadata__", None)
    tensors = {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, end = entry["data_offsets"]
        tensors[name] = (entry["dtype"], entry["shape"], data[begin:end])
    return tensors, meta


def as_array(tensor):
    """A float tensor of read() as a numpy array, or None for another dtype."""
    dtype, shape, raw = tensor
    return np.frombuffer(raw, dtype=FLOATS[dtype]).reshape(shape) if dtype in FLOATS else None


def from_array(dtype, array):
    """The read() form of a numpy array stored as `dtype` ("F32" or "F16")."""
    return (dtype, list(array.shape), np.ascontiguousarray(array.astype(FLOATS[dtype])).tobytes())


def write(path, tensors, meta=None):
    """Writes tensors in read()'s form, in the dict's order, the header padded to 8 bytes."""
    header, offset = {}, 0
    if meta:
        header["__metadata__"] = meta
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, raw in tensors.values():
            f.write(raw)
