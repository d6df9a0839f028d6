#!/usr/bin/python3
"""Test helper for tests/cli/embed.sh: a tiny CLIP with the real vocabulary size and context (so dcar's
tokenizer ids fit), saved as safetensors with the architecture dcar records in its own files (QuickGELU, 3 and 2
heads); and the reference image embeddings of a list of files through
torchvision's CLIP transform and the same model in PyTorch.
  tiny_clip.py model OUT.safetensors [bare|stem]   (bare: without the architecture, as other tools write them;
                                                   stem: with dcar's convolutional stem, 16 and 32 channels)
  tiny_clip.py embed MODEL.safetensors OUT.npy FILE...        (L2-normalised, float32, in file order)"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit"))
import clip_reference as ref  # noqa: E402  (the tiny OpenAI-layout CLIP used by the loader tests)

ref.VOCAB, ref.CONTEXT, ref.SOT, ref.EOT = 49408, 77, 49406, 49407


def build(stem=()) -> torch.nn.Module:
    torch.manual_seed(0)
    model = ref.TinyClip(stem=stem).eval()
    ref.randomise(model)
    return model


def main() -> None:
    if sys.argv[1] == "model":
        variant = sys.argv[3] if len(sys.argv) > 3 else ""
        model = build((16, 32) if variant == "stem" else ())
        metadata = {"format": "pt"} if variant == "bare" else {"format": "pt", "dcar.architecture": "activation=quick-gelu,vision-heads=3,text-heads=2"}
        ref.write_safetensors(sys.argv[2], ref.dcar_tensors(model), metadata)
    elif sys.argv[1] == "embed":
        from PIL import Image
        from torchvision import transforms as T
        model = build()
        transform = T.Compose([T.Resize(ref.IMAGE, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(ref.IMAGE),
                               lambda im: im.convert("RGB"), T.ToTensor(),
                               T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
        pixels = torch.stack([transform(Image.open(f)) for f in sys.argv[4:]])
        with torch.no_grad():
            features = model.encode_image(pixels)
        features = features / features.norm(dim=-1, keepdim=True)
        np.save(sys.argv[3], features.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
