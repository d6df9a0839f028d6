#!/usr/bin/python3
"""Where in the image tower an attribute becomes readable: features of a CLIP image tower taken at each depth, for
demo/probe.py (docs/RESULTS.md, "Where the marks are lost").
  layer_probe.py CLIP.safetensors MANIFEST IMAGE_ROOT OUTDIR
The checkpoint is in OpenAI's layout (safetensors, fp32 or fp16), with or without dcar's convolutional stem; the
head count and activation come from its "dcar.architecture" metadata when it has one (else width / 64 heads and
QuickGELU, as OpenAI's). Each record's image is IMAGE_ROOT/<file_path> (the world's as-is layout) and must already
be the tower's resolution, as the world's images are; it is normalised as CLIP normalises. For every image the
script writes OUTDIR/<feature>.npy with its .ids sidecar (the manifest's keys, in order): the spatial mean and max
of each stem map and of the patch embedding ("stem1-max", "patches-mean"), after each transformer block b the
class token and the mean and max over the patch tokens ("block2-class", "block2-patch-max"), and the embedding
("embedding", the one dcar-embed writes, before L2 normalisation). It prints the probe.py arguments, LABEL=PATH,
in depth order.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import safetensors_file

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def image_tower(path):
    """The image tower's tensors (as float32 torch tensors, without the "visual." prefix), its head count, and
    whether its MLPs use exact GELU."""
    tensors, meta = safetensors_file.read(path)
    weights = {}
    for name, tensor in tensors.items():
        array = safetensors_file.as_array(tensor)
        if name.startswith("visual.") and array is not None:
            weights[name[len("visual."):]] = torch.from_numpy(np.array(array, dtype=np.float32))
    if "conv1.weight" not in weights:
        sys.exit(f"layer_probe.py: {path}: no visual.conv1.weight (not an OpenAI-layout CLIP)")
    architecture = dict(item.split("=", 1) for item in (meta or {}).get("dcar.architecture", "").split(",") if "=" in item)
    width = weights["conv1.weight"].shape[0]
    heads = int(architecture.get("vision-heads", width // 64))
    return weights, heads, architecture.get("activation", "quick-gelu") == "gelu"


def read_pixels(manifest, image_root):
    records = json.load(open(manifest))
    ids = list(records)
    images = [np.asarray(Image.open(os.path.join(image_root, records[i]["file_path"])).convert("RGB"), dtype=np.float32) / 255
              for i in ids]
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    return ids, (pixels - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def features_by_depth(w, heads, exact_gelu, x):
    """label → [N, D] features, in depth order."""
    features = {}

    def pooled(label, maps):  # [N, C, H, W]
        features[label + "-mean"] = maps.mean((2, 3))
        features[label + "-max"] = maps.amax((2, 3))

    stage = 0
    while f"stem.{stage}.weight" in w:
        x = F.gelu(F.conv2d(x, w[f"stem.{stage}.weight"], w[f"stem.{stage}.bias"], stride=2, padding=1))
        stage += 1
        pooled(f"stem{stage}", x)
    kernel = w["conv1.weight"].shape[-1]
    x = F.conv2d(x, w["conv1.weight"], stride=kernel)
    pooled("patches", x)
    n, width = x.shape[:2]
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([w["class_embedding"].expand(n, 1, width), x], 1) + w["positional_embedding"]

    def norm(t, name):
        return F.layer_norm(t, (width,), w[name + ".weight"], w[name + ".bias"])

    def split_heads(t):
        return t.view(n, -1, heads, width // heads).transpose(1, 2)

    x = norm(x, "ln_pre")
    block = 0
    while f"transformer.resblocks.{block}.ln_1.weight" in w:
        p = f"transformer.resblocks.{block}."
        q, k, v = (norm(x, p + "ln_1") @ w[p + "attn.in_proj_weight"].T + w[p + "attn.in_proj_bias"]).split(width, -1)
        attention = torch.softmax(split_heads(q) @ split_heads(k).transpose(-1, -2) / (width // heads) ** 0.5, -1)
        mixed = (attention @ split_heads(v)).transpose(1, 2).reshape(n, -1, width)
        x = x + mixed @ w[p + "attn.out_proj.weight"].T + w[p + "attn.out_proj.bias"]
        h = norm(x, p + "ln_2") @ w[p + "mlp.c_fc.weight"].T + w[p + "mlp.c_fc.bias"]
        h = F.gelu(h) if exact_gelu else h * torch.sigmoid(1.702 * h)
        x = x + h @ w[p + "mlp.c_proj.weight"].T + w[p + "mlp.c_proj.bias"]
        block += 1
        features[f"block{block}-class"] = x[:, 0]
        features[f"block{block}-patch-mean"] = x[:, 1:].mean(1)
        features[f"block{block}-patch-max"] = x[:, 1:].amax(1)
    features["embedding"] = norm(x[:, 0], "ln_post") @ w["proj"]
    return features


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: layer_probe.py CLIP.safetensors MANIFEST IMAGE_ROOT OUTDIR")
    checkpoint, manifest, image_root, out = sys.argv[1:]
    weights, heads, exact_gelu = image_tower(checkpoint)
    ids, pixels = read_pixels(manifest, image_root)
    with torch.no_grad():
        features = features_by_depth(weights, heads, exact_gelu, pixels)
    os.makedirs(out, exist_ok=True)
    for label, values in features.items():
        np.save(os.path.join(out, label + ".npy"), values.numpy().astype(np.float32))
        with open(os.path.join(out, label + ".ids"), "w") as f:
            f.write("".join(i + "\n" for i in ids))
    print(" ".join(f"{label}={os.path.join(out, label + '.npy')}" for label in features))


if __name__ == "__main__":
    main()
