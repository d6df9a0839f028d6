#!/usr/bin/python3
"""Reference for bench/embed.sh — marked as THE REFERENCE: the Python pipeline dcar-embed is measured against.
Debian python3-torch 1.13 + torchvision 0.14 + PIL on the same cores, with the same architecture and weights:
a ViT-B/32-size CLIP in OpenAI's layout (tests/unit/clip_reference.py's model at B/32 sizes), random weights.

  embed_reference.py model OUT.safetensors              write the weights (seeded) for both sides
  embed_reference.py decode LIST                         decode + CLIP transform only, one thread: images/s
  embed_reference.py model-only MODEL N BATCH            encode_image on random pixels: images/s
  embed_reference.py end2end MODEL LIST BATCH OUT.npy    DataLoader (1 decode worker) → model → normalised features
  embed_reference.py text MODEL IDS BATCH OUT.npy        OpenAI's encode_text on token ids (one caption a line,
                                                         SOT..EOT), padded to the 77-token context as OpenAI's
                                                         tokenize() pads: captions/s, normalised features
Timings go to stdout as "<what>\t<images>\t<seconds>"."""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "unit"))
import clip_reference as ref  # noqa: E402

# ViT-B/32: 224 px, patch 32, width 768 × 12 layers; text 512 × 12; embedding 512; real vocabulary.
ref.IMAGE, ref.PATCH, ref.V_WIDTH, ref.V_LAYERS = 224, 32, 768, 12
ref.T_WIDTH, ref.T_LAYERS, ref.EMBED = 512, 12, 512
ref.VOCAB, ref.CONTEXT, ref.SOT, ref.EOT = 49408, 77, 49406, 49407
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def transform():
    from torchvision import transforms as T
    return T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224),
                      lambda im: im.convert("RGB"), T.ToTensor(), T.Normalize(MEAN, STD)])


def openai_model():
    # Heads of 64 as OpenAI builds them, given here: TinyClip's defaults were fixed at import, at the tiny sizes.
    return ref.TinyClip(vision_heads=ref.V_WIDTH // 64, text_heads=ref.T_WIDTH // 64).eval()


def load_model(path):
    model = openai_model()
    header_len = int.from_bytes(open(path, "rb").read(8), "little")
    import json
    with open(path, "rb") as f:
        f.seek(8)
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        state = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            f.seek(base + info["data_offsets"][0])
            n = info["data_offsets"][1] - info["data_offsets"][0]
            dtype = {"F32": np.float32, "F16": np.float16, "I64": np.int64}[info["dtype"]]
            state[name] = torch.from_numpy(np.frombuffer(f.read(n), dtype=dtype).reshape(info["shape"]).copy())
    model.load_state_dict(state)
    return model


class Files(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files, self.t = files, transform()

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image
        return self.t(Image.open(self.files[i]))


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    what = sys.argv[1]
    if what == "model":
        torch.manual_seed(0)
        model = openai_model()
        ref.randomise(model)
        # OpenAI's architecture (QuickGELU, heads of 64), recorded as dcar records it.
        ref.write_safetensors(sys.argv[2], {k: v.detach() for k, v in model.state_dict().items()},
                              {"format": "pt", "dcar.architecture": "openai"})
    elif what == "decode":
        files = [l.strip() for l in open(sys.argv[2]) if l.strip()]
        t, start = transform(), time.perf_counter()
        from PIL import Image
        for f in files:
            t(Image.open(f))
        print(f"decode\t{len(files)}\t{time.perf_counter() - start:.3f}")
    elif what == "model-only":
        model, n, batch = load_model(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        x = torch.randn(batch, 3, 224, 224)
        with torch.no_grad():
            model.encode_image(x[:2])  # warm-up
            start = time.perf_counter()
            for _ in range(n // batch):
                model.encode_image(x)
        print(f"model-only\t{n // batch * batch}\t{time.perf_counter() - start:.3f}")
    elif what == "end2end":
        model, files, batch = load_model(sys.argv[2]), [l.strip() for l in open(sys.argv[3]) if l.strip()], int(sys.argv[4])
        loader = torch.utils.data.DataLoader(Files(files), batch_size=batch, num_workers=1)
        out, start = [], time.perf_counter()
        with torch.no_grad():
            for pixels in loader:
                f = model.encode_image(pixels)
                out.append((f / f.norm(dim=-1, keepdim=True)).numpy())
        print(f"end2end\t{len(files)}\t{time.perf_counter() - start:.3f}")
        np.save(sys.argv[5], np.concatenate(out).astype(np.float32))
    elif what == "text":
        model, batch = load_model(sys.argv[2]), int(sys.argv[4])
        rows = [[int(t) for t in line.split()] for line in open(sys.argv[3]) if line.strip()]
        ids = torch.zeros(len(rows), ref.CONTEXT, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        out = []
        with torch.no_grad():
            model.encode_text(ids[:2])  # warm-up
            start = time.perf_counter()
            for first in range(0, len(rows), batch):
                f = model.encode_text(ids[first : first + batch])
                out.append((f / f.norm(dim=-1, keepdim=True)).numpy())
        print(f"text\t{len(rows)}\t{time.perf_counter() - start:.3f}")
        np.save(sys.argv[5], np.concatenate(out).astype(np.float32))


if __name__ == "__main__":
    main()
