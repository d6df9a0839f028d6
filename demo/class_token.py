#!/usr/bin/python3
"""A copy of a CLIP checkpoint (OpenAI's layout, safetensors) whose image embedding is the class token before the
projection, for gate G1's second image probe.
  class_token.py CLIP.safetensors OUT.safetensors
The image tower ends in ln_post(class token) @ visual.proj. The copy replaces visual.proj [W, E] by the W × W
identity and pads text_projection [Wt, E] with zero columns to W (E ≤ W is required), so dcar-embed with the
copy writes ln_post(class token), L2-normalised as every dcar embedding is. Only the image side of the copy is
meant to be used. Every other tensor is copied as it is.
"""
import sys

import numpy as np

import safetensors_file


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: class_token.py CLIP.safetensors OUT.safetensors")
    path = sys.argv[1]
    tensors, meta = safetensors_file.read(path)
    proj = safetensors_file.as_array(tensors["visual.proj"])
    text_proj = safetensors_file.as_array(tensors["text_projection"])
    if proj is None or text_proj is None:
        sys.exit(f"class_token.py: {path}: the projections are not F32 or F16")
    width = proj.shape[0]
    if text_proj.shape[1] > width:
        sys.exit(f"class_token.py: {path}: the embedding ({text_proj.shape[1]}) is wider than the image tower ({width})")
    padded = np.zeros((text_proj.shape[0], width))
    padded[:, : text_proj.shape[1]] = text_proj
    tensors["visual.proj"] = safetensors_file.from_array(tensors["visual.proj"][0], np.eye(width))
    tensors["text_projection"] = safetensors_file.from_array(tensors["text_projection"][0], padded)
    safetensors_file.write(sys.argv[2], tensors, meta)


if __name__ == "__main__":
    main()
