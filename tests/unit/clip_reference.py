# Reference data for the C++ CLIP loader tests (tests/unit/weights_test.cpp). Builds a tiny CLIP with the
# layout and parameter names of OpenAI's model (written here from the architecture description, not copied),
# runs it in fp32 on fixed inputs, and saves the same weights in every format dcar reads: a TorchScript archive
# with fp16 weights (as OpenAI ships them), torch.save state dicts (plain and wrapped), safetensors written by
# hand (fp32 and fp16), and an HF CLIPModel-layout safetensors file. Weights are rounded to fp16 values first,
# so every copy holds exactly the same numbers and dcar must give them one fingerprint.
# Usage: /usr/bin/python3 clip_reference.py OUTDIR   (Debian's python3-torch 1.13; numpy)
import collections
import json
import math
import os
import struct
import sys
from typing import Optional

import torch
from torch import nn

# Tiny sizes, chosen so that heads = width / 64 holds as in OpenAI's build_model, with more than one head per
# tower (the head split is where layout bugs hide) and a patch grid that is not square-rooted to 1.
EMBED = 32
IMAGE = 32
PATCH = 8
V_WIDTH, V_LAYERS = 192, 2
CONTEXT, VOCAB = 16, 100
T_WIDTH, T_LAYERS = 128, 3
SOT, EOT = VOCAB - 2, VOCAB - 1  # EOT is the largest id, so OpenAI's argmax pooling finds it


class Fp32LayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 whatever the input type, as CLIP does for fp16."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(),
                                        self.eps).to(x.dtype)


class QuickGelu(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, gelu: bool = False):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = Fp32LayerNorm(width)
        self.mlp = nn.Sequential(collections.OrderedDict([
            ("c_fc", nn.Linear(width, 4 * width)),
            ("gelu", nn.GELU() if gelu else QuickGelu()),
            ("c_proj", nn.Linear(4 * width, width)),
        ]))
        self.ln_2 = Fp32LayerNorm(width)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        # x is [L, N, D], the sequence-first layout nn.MultiheadAttention expects by default.
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Stack(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, gelu: bool = False):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(width, heads, gelu) for _ in range(layers)])

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class Vision(nn.Module):
    """OpenAI's ViT image tower; with `stem` (channel counts), dcar's convolutional stem first: 3 × 3 convolutions
    of stride 2 with padding 1 and a bias, each followed by GELU, then conv1 with the kernel that is left."""

    def __init__(self, stem=(), heads=V_WIDTH // 64, gelu=False):
        super().__init__()
        layers, channels = [], 3
        for width in stem:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.GELU()]
            channels = width
        self.stem = nn.Sequential(*layers)  # parameters named stem.<2i>.*: renamed to stem.<i>.* on saving
        kernel = PATCH // 2 ** len(stem)
        self.conv1 = nn.Conv2d(channels, V_WIDTH, kernel, stride=kernel, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(V_WIDTH))
        self.positional_embedding = nn.Parameter(torch.zeros((IMAGE // PATCH) ** 2 + 1, V_WIDTH))
        self.ln_pre = Fp32LayerNorm(V_WIDTH)
        self.transformer = Stack(V_WIDTH, V_LAYERS, heads, gelu)
        self.ln_post = Fp32LayerNorm(V_WIDTH)
        self.proj = nn.Parameter(torch.zeros(V_WIDTH, EMBED))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.stem(pixels))            # [N, W, g, g]
        x = x.flatten(2).permute(0, 2, 1)            # [N, g*g, W]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x, None).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class TinyClip(nn.Module):
    """OpenAI's CLIP in small; `gelu` and the head counts give open_clip's other variants (exact GELU, head widths
    other than 64)."""

    def __init__(self, stem=(), gelu=False, vision_heads=V_WIDTH // 64, text_heads=T_WIDTH // 64):
        super().__init__()
        self.visual = Vision(stem, vision_heads, gelu)
        self.transformer = Stack(T_WIDTH, T_LAYERS, text_heads, gelu)
        self.token_embedding = nn.Embedding(VOCAB, T_WIDTH)
        self.positional_embedding = nn.Parameter(torch.zeros(CONTEXT, T_WIDTH))
        self.ln_final = Fp32LayerNorm(T_WIDTH)
        self.text_projection = nn.Parameter(torch.zeros(T_WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        # Harmless extras of the kind real checkpoints carry; dcar must ignore them by name.
        self.register_buffer("attn_mask", torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1))
        self.register_buffer("input_resolution", torch.tensor(IMAGE))
        self.register_buffer("context_length", torch.tensor(CONTEXT))
        self.register_buffer("vocab_size", torch.tensor(VOCAB))

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.visual(pixels)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2), self.attn_mask).permute(1, 0, 2)
        x = self.ln_final(x)
        pooled = x[torch.arange(x.shape[0]), ids.argmax(dim=-1)]
        return pooled @ self.text_projection

    def forward(self, pixels: torch.Tensor, ids: torch.Tensor):
        return self.encode_image(pixels), self.encode_text(ids)


def randomise(model: nn.Module) -> None:
    """Every weight random (LN gains near 1), then rounded to fp16 values so every saved copy is exact."""
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_pre.weight", "ln_post.weight", "ln_final.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(("embedding", "embedding.weight")):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                # Linear weights are [out, in]; OpenAI's bare projections are [in, out]; conv1 is [out, in, k, k].
                bare = name in ("visual.proj", "text_projection")
                fan_in = p.shape[0] if bare else p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            p.copy_(p.half().float())
        model.logit_scale.copy_(model.logit_scale.half().float())


def dcar_tensors(model: nn.Module) -> dict:
    """The model's tensors as dcar names them: nn.Sequential's stem.<2i> (the stem's convolution i) is stem.<i>."""
    tensors = {}
    for name, value in model.state_dict().items():
        if name.startswith("visual.stem."):
            _, _, index, kind = name.split(".")
            name = f"visual.stem.{int(index) // 2}.{kind}"
        tensors[name] = value.detach().clone()
    return tensors


def to_bytes(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().cpu().numpy().tobytes()


def write_safetensors(path: str, tensors: dict, metadata: dict = None) -> None:
    """The format by hand: u64 LE header length, JSON header (padded with spaces to 8 bytes), raw LE data."""
    codes = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = to_bytes(t)
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def hf_layout(sd: dict) -> dict:
    """OpenAI names → transformers' CLIPModel names: split in_proj, transpose the projections, rename the rest."""
    out = {}

    def blocks(src: str, dst: str, layers: int) -> None:
        for i in range(layers):
            s, d = f"{src}{i}.", f"{dst}{i}."
            for kind in ("weight", "bias"):
                q, k, v = sd[s + f"attn.in_proj_{kind}"].chunk(3, dim=0)
                out[d + f"self_attn.q_proj.{kind}"] = q.clone()
                out[d + f"self_attn.k_proj.{kind}"] = k.clone()
                out[d + f"self_attn.v_proj.{kind}"] = v.clone()
                out[d + f"self_attn.out_proj.{kind}"] = sd[s + f"attn.out_proj.{kind}"]
                out[d + f"layer_norm1.{kind}"] = sd[s + f"ln_1.{kind}"]
                out[d + f"layer_norm2.{kind}"] = sd[s + f"ln_2.{kind}"]
                out[d + f"mlp.fc1.{kind}"] = sd[s + f"mlp.c_fc.{kind}"]
                out[d + f"mlp.fc2.{kind}"] = sd[s + f"mlp.c_proj.{kind}"]

    out["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    out["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
    out["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
    out["vision_model.embeddings.position_ids"] = torch.arange(sd["visual.positional_embedding"].shape[0])[None]
    for kind in ("weight", "bias"):
        out[f"vision_model.pre_layrnorm.{kind}"] = sd[f"visual.ln_pre.{kind}"]
        out[f"vision_model.post_layernorm.{kind}"] = sd[f"visual.ln_post.{kind}"]
        out[f"text_model.final_layer_norm.{kind}"] = sd[f"ln_final.{kind}"]
    blocks("visual.transformer.resblocks.", "vision_model.encoder.layers.", V_LAYERS)
    out["visual_projection.weight"] = sd["visual.proj"].t().contiguous()
    out["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    out["text_model.embeddings.position_ids"] = torch.arange(CONTEXT)[None]
    blocks("transformer.resblocks.", "text_model.encoder.layers.", T_LAYERS)
    out["text_projection.weight"] = sd["text_projection"].t().contiguous()
    out["logit_scale"] = sd["logit_scale"]
    return out


def main() -> None:
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    model = TinyClip().eval()
    randomise(model)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    # Fixed inputs: two images, three token rows (EOT early, in the middle, and in the last slot).
    gen = torch.Generator().manual_seed(7)
    pixels = torch.randn(2, 3, IMAGE, IMAGE, generator=gen)
    ids = torch.zeros(3, CONTEXT, dtype=torch.int64)
    for row, length in enumerate((3, 8, CONTEXT - 2)):
        ids[row, 0] = SOT
        ids[row, 1:1 + length] = torch.randint(1, SOT, (length,), generator=gen)
        ids[row, 1 + length] = EOT
    eot = ids.argmax(dim=-1)
    with torch.no_grad():
        image_features, text_features = model(pixels, ids)
    write_safetensors(os.path.join(outdir, "reference.safetensors"), {
        "pixels": pixels, "ids": ids, "eot": eot,
        "image_features": image_features, "text_features": text_features,
    })

    # (a) TorchScript with fp16 weights, like OpenAI's ViT-B-32.pt (LayerNorms included, which OpenAI keeps in
    # fp32: dcar casts everything to fp32 on load anyway).
    scripted = torch.jit.script(model)
    scripted.half()
    scripted.save(os.path.join(outdir, "tiny.jit.pt"))
    # (b) torch.save of model.state_dict() itself (an OrderedDict carrying _metadata), and of nn.Parameters
    # wrapped the way training scripts wrap them ("module." from DataParallel, under "state_dict").
    torch.save(model.state_dict(), os.path.join(outdir, "tiny.state_dict.pt"))
    named = list(model.named_parameters()) + list(model.named_buffers())
    torch.save({"epoch": 3, "state_dict": collections.OrderedDict(("module." + k, v) for k, v in named)},
               os.path.join(outdir, "tiny.wrapped.pt"))
    # (c) safetensors by hand, fp32 and fp16.
    write_safetensors(os.path.join(outdir, "tiny.safetensors"), sd, {"format": "pt"})
    write_safetensors(os.path.join(outdir, "tiny.f16.safetensors"),
                      {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()})
    # (d) the HF CLIPModel layout.
    write_safetensors(os.path.join(outdir, "tiny.hf.safetensors"), hf_layout(sd), {"format": "pt"})
    # Small files for the torch.save reader's edge cases: views sharing one storage, and three files that are
    # not state dicts (a list; an object of a class dcar must refuse to build; a dict that contains itself).
    import fractions
    base = torch.arange(12.0).view(3, 4)
    torch.save({"base": base, "view": base[1:, ::2]}, os.path.join(outdir, "views.pt"))
    torch.save([base], os.path.join(outdir, "list.pt"))
    torch.save({"ratio": fractions.Fraction(1, 3)}, os.path.join(outdir, "object.pt"))
    cycle = {"base": base}
    cycle["state_dict"] = cycle
    torch.save(cycle, os.path.join(outdir, "cycle.pt"))
    # (e) dcar's convolutional stem: the same model with a two-layer stem (16 and 32 channels) before a
    # kernel-2 conv1, and its image features for the same pixels.
    torch.manual_seed(0)
    stem_model = TinyClip(stem=(16, 32)).eval()
    randomise(stem_model)
    write_safetensors(os.path.join(outdir, "tiny.stem.safetensors"), dcar_tensors(stem_model), {"format": "pt"})
    with torch.no_grad():
        stem_features = stem_model.encode_image(pixels)
    write_safetensors(os.path.join(outdir, "stem_reference.safetensors"), {"image_features": stem_features})
    # (f) open_clip's variants: exact GELU and head width 32 (6 vision heads, 4 text heads), as an open_clip
    # hub directory (open_clip_config.json beside open_clip_model.safetensors) and as a Hugging Face one
    # (config.json beside model.safetensors, HF layout), with their features for the same inputs.
    torch.manual_seed(0)
    gelu_model = TinyClip(gelu=True, vision_heads=V_WIDTH // 32, text_heads=T_WIDTH // 32).eval()
    randomise(gelu_model)
    gelu_sd = {k: v.detach().clone() for k, v in gelu_model.state_dict().items()}
    with torch.no_grad():
        gelu_image, gelu_text = gelu_model(pixels, ids)
    write_safetensors(os.path.join(outdir, "gelu_reference.safetensors"),
                      {"image_features": gelu_image, "text_features": gelu_text})
    os.makedirs(os.path.join(outdir, "gelu.open_clip"))
    write_safetensors(os.path.join(outdir, "gelu.open_clip", "open_clip_model.safetensors"), gelu_sd)
    with open(os.path.join(outdir, "gelu.open_clip", "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": {"embed_dim": EMBED,
                                 "vision_cfg": {"image_size": IMAGE, "layers": V_LAYERS, "width": V_WIDTH,
                                                "patch_size": PATCH, "head_width": 32},
                                 "text_cfg": {"context_length": CONTEXT, "vocab_size": VOCAB, "width": T_WIDTH,
                                              "heads": T_WIDTH // 32, "layers": T_LAYERS}},
                   "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                      "std": [0.26862954, 0.26130258, 0.27577711]}}, f)
    os.makedirs(os.path.join(outdir, "gelu.hf"))
    write_safetensors(os.path.join(outdir, "gelu.hf", "model.safetensors"), hf_layout(gelu_sd), {"format": "pt"})
    with open(os.path.join(outdir, "gelu.hf", "config.json"), "w") as f:
        json.dump({"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": EMBED,
                   "text_config": {"hidden_act": "gelu", "hidden_size": T_WIDTH, "intermediate_size": 4 * T_WIDTH,
                                   "num_attention_heads": T_WIDTH // 32, "num_hidden_layers": T_LAYERS,
                                   "max_position_embeddings": CONTEXT, "vocab_size": VOCAB, "layer_norm_eps": 1e-5},
                   "vision_config": {"hidden_act": "gelu", "hidden_size": V_WIDTH, "intermediate_size": 4 * V_WIDTH,
                                     "num_attention_heads": V_WIDTH // 32, "num_hidden_layers": V_LAYERS,
                                     "image_size": IMAGE, "patch_size": PATCH, "layer_norm_eps": 1e-5}}, f)
    with open(os.path.join(outdir, "done"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
