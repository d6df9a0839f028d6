#!/usr/bin/python3
"""Reference for dcar's image preprocessing (lib/model/preprocess.cpp): OpenAI CLIP's `_transform`, built
from torchvision and PIL exactly as clip.py builds it (Resize(n, BICUBIC) → CenterCrop(n) → convert("RGB") →
ToTensor → Normalize). For each input file it writes OUT_DIR/<i>.npy (float32, shape (3, n, n)) and prints
one line on stdout:

  <i> ok <PIL mode> <width>x<height>
  <i> error <exception message>

so a caller can tell the files PIL refuses (truncated, unreadable) from the ones it decodes.

  reference_transform.py RESOLUTION OUT_DIR FILE...
"""
import os
import sys

import numpy as np
import torchvision.transforms as T
from PIL import Image

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def clip_transform(n_px):
    # The same composition as clip/clip.py `_transform`; the RGB conversion comes after the crop, as there.
    return T.Compose([
        T.Resize(n_px, interpolation=T.InterpolationMode.BICUBIC),
        T.CenterCrop(n_px),
        lambda image: image.convert("RGB"),
        T.ToTensor(),
        T.Normalize(MEAN, STD),
    ])


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    n_px, out_dir, files = int(argv[1]), argv[2], argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    transform = clip_transform(n_px)
    for i, path in enumerate(files):
        try:
            image = Image.open(path)
            mode, size = image.mode, image.size
            out = transform(image).numpy().astype(np.float32)
        except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... for bad files
            print(f"{i} error {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)
            continue
        np.save(os.path.join(out_dir, f"{i}.npy"), out)
        print(f"{i} ok {mode} {size[0]}x{size[1]}", flush=True)


if __name__ == "__main__":
    main(sys.argv)
