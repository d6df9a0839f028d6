#!/usr/bin/python3
"""A copy of a CLIP checkpoint (OpenAI's layout, safetensors) whose image embedding is the class token before the
projection, for gate G1's second image probe.
  class_token.py CLIP.safetensors OUT.safetensors
The image tower ends in ln_post(class token) @ visual.proj. The copy replaces visual.proj [W, E] by the W × W
identity and pads text_projection [Wt, E] with zero columns to W (or cuts nothing: E ≤ W is required), so
dcar-embed with the copy writes ln_post(class token), L2-normalised as every dcar embedding is. Only the image
side of the copy is meant to be used. Every other tensor is copied as it is.
"""
import json
import struct
import sys

import numpy as np

FLOATS = {"F32": np.float32, "F16": np.float16}


# name → (dtype name, shape, raw bytes), in file order.
def read_safetensors(path):
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


def as_array(path, name, tensor):
    dtype, shape, raw = tensor
    if dtype not in FLOATS:
        sys.exit(f"class_token.py: {path}: tensor {name} is {dtype}; F32 or F16 expected")
    return np.frombuffer(raw, dtype=FLOATS[dtype]).reshape(shape)


def from_array(dtype, array):
    return (dtype, list(array.shape), np.ascontiguousarray(array.astype(FLOATS[dtype])).tobytes())


def write_safetensors(path, tensors, meta):
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


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: class_token.py CLIP.safetensors OUT.safetensors")
    path = sys.argv[1]
    tensors, meta = read_safetensors(path)
    proj = as_array(path, "visual.proj", tensors["visual.proj"])
    text_proj = as_array(path, "text_projection", tensors["text_projection"])
    width = proj.shape[0]
    if text_proj.shape[1] > width:
        sys.exit(f"class_token.py: {path}: the embedding ({text_proj.shape[1]}) is wider than the image tower ({width})")
    padded = np.zeros((text_proj.shape[0], width))
    padded[:, : text_proj.shape[1]] = text_proj
    tensors["visual.proj"] = from_array(tensors["visual.proj"][0], np.eye(width))
    tensors["text_projection"] = from_array(tensors["text_projection"][0], padded)
    write_safetensors(sys.argv[2], tensors, meta)


if __name__ == "__main__":
    main()
