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

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    meta = header.pop("__metadata__", None)
    tensors = {}
    for name, entry in header.items():
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            sys.exit(f"class_token.py: {path}: tensor {name} is {entry['dtype']}; F32 or F16 expected")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    header, chunks, offset = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        kind = "F16" if array.dtype == np.float16 else "F32"
        header[name] = {"dtype": kind, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: class_token.py CLIP.safetensors OUT.safetensors")
    tensors, meta = read_safetensors(sys.argv[1])
    proj, text_proj = tensors["visual.proj"], tensors["text_projection"]
    width = proj.shape[0]
    if text_proj.shape[1] > width:
        sys.exit(f"class_token.py: {sys.argv[1]}: the embedding ({text_proj.shape[1]}) is wider than the image tower ({width})")
    tensors = dict(tensors)
    tensors["visual.proj"] = np.eye(width, dtype=proj.dtype)
    padded = np.zeros((text_proj.shape[0], width), dtype=text_proj.dtype)
    padded[:, : text_proj.shape[1]] = text_proj
    tensors["text_projection"] = padded
    write_safetensors(sys.argv[2], tensors, meta)


if __name__ == "__main__":
    main()
