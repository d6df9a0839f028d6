#!/usr/bin/python3
"""Reference for bench/tune.sh — marked as THE REFERENCE: one DCAR training step (docs/METHOD.md §3, §4, §6–§7)
written plainly in PyTorch (Debian python3-torch 1.13, fp32, CPU), for timing lib/train side by side and for
checking that it computes the same losses from the same weights and batch.

  tune_reference.py step --model CLIP.safetensors --inputs STEP.safetensors [--steps N] [--threads 2]
                         [--vision-heads H] [--text-heads H] [--save-params OUT.safetensors]
                         [--save-table OUT.safetensors] [--print-losses] [--check-grads]
      N training steps on the same batch. stdout: one line per step
        step<TAB>index<TAB>seconds<TAB>loss<TAB>loss_con<TAB>loss_cate        (index from 1)
      then median<TAB>python<TAB>seconds: the median of steps 2..N (all steps when N < 3), the upper middle
      value for an even count, as tune_parts.
      --save-params writes the trainable tensors after the last step, under the input names; --save-table the
      EMA token-weight table as dtr.table [vocab]. --print-losses writes a readable loss trajectory to stderr;
      --check-grads checks (stderr, exit 1 on failure) that every trainable tensor got a finite, non-zero
      gradient and no CLIP tensor got one.
  tune_reference.py make-inputs --model CLIP.safetensors --out STEP.safetensors [--batch 32] [--candidates 5]
                         [--length 40] [--seed 0] [--prompt-length 2] [--depth 9] [--caa-hidden 128] [--alpha 0.5]
      a random batch and random initial prompts in the inputs format below (reads only the model's header).
  tune_reference.py tiny-model OUT.safetensors
      a small seeded CLIP in OpenAI's layout with the real vocabulary (49408) and context (77), for quick tests.

Inputs file (safetensors; the C++ harness bench/tune_parts reads the same file):
  pixels [B,3,R,R] f32 (normalised CLIP input)        blank [1,3,R,R] f32
  text_ids [T,Lmax] i64, T = B·(1+C), text i·(1+C)+j of image i: j = 0 positive, j ≥ 1 candidates;
      caption BPE ids without SOT/EOT, zero padded          text_len [T] i64 (1 ≤ len ≤ Lmax)
  cand_weight [B,C] f32: w_ij of candidate j (1 or 1+α); 0 = no candidate there (left out of L_cate)
  prompt.text.<l> [k,Wt], prompt.couple.<l>.weight [Wv,Wt], prompt.couple.<l>.bias [Wv] (l < J),
  caa.down [H,E], caa.up [E,H]                              (trainable, fp32)
  hp.lr hp.momentum hp.weight_decay hp.lambda hp.caa_ratio hp.w_min hp.w_max hp.ema (f32, 0-dim or [1])
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "unit"))
import clip_reference as ref  # noqa: E402  (write_safetensors; TinyClip for tiny-model)

SOT, EOT = 49406, 49407
HYPERPARAMETERS = {  # name → default written by make-inputs
    "lr": 0.0035, "momentum": 0.9, "weight_decay": 5e-4, "lambda": 1.0,
    "caa_ratio": 0.2, "w_min": 0.5, "w_max": 2.0, "ema": 0.99,
}


# ---------------------------------------------------------------------------------------------------------------
# safetensors: u64 little-endian header length, JSON header, raw little-endian data

SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors_header(path):
    """The header dict (name → {dtype, shape, data_offsets}, without __metadata__) and where the data starts."""
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path}: too short for a safetensors file")
        (header_length,) = struct.unpack("<Q", prefix)
        header = json.loads(f.read(header_length))
    header.pop("__metadata__", None)
    return header, 8 + header_length


def read_safetensors(path):
    """Every tensor of the file, in its stored dtype."""
    header, data_start = read_safetensors_header(path)
    tensors = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            dtype = SAFETENSORS_DTYPES.get(info["dtype"])
            if dtype is None:
                raise ValueError(f"{path}: {name} has unsupported dtype {info['dtype']}")
            begin, end = info["data_offsets"]
            shape = info["shape"]
            expected = math.prod(shape) * torch.empty(0, dtype=dtype).element_size()
            if end - begin != expected:
                raise ValueError(f"{path}: {name} holds {end - begin} bytes, shape {shape} needs {expected}")
            raw = bytearray(end - begin)
            f.seek(data_start + begin)
            if f.readinto(raw) != len(raw):
                raise ValueError(f"{path}: {name} runs past the end of the file")
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            tensors[name] = flat.reshape(shape)
    return tensors


def write_safetensors(path, tensors, metadata=None):
    ref.write_safetensors(path, {name: t.detach().contiguous() for name, t in tensors.items()}, metadata)


# ---------------------------------------------------------------------------------------------------------------
# The frozen CLIP, functional: a dict of fp32 tensors (OpenAI names) and forward functions with prompt hooks.
# Batch-first [N, L, D] throughout (OpenAI is sequence-first inside nn.MultiheadAttention: same numbers).

def count_blocks(weights, prefix):
    count = 0
    while f"{prefix}{count}.ln_1.weight" in weights:
        count += 1
    return count


def layer_norm(x, weights, name):
    return F.layer_norm(x, x.shape[-1:], weights[name + ".weight"], weights[name + ".bias"], 1e-5)


def self_attention(x, weights, prefix, heads, mask):
    batch, length, width = x.shape
    head_dim = width // heads
    qkv = F.linear(x, weights[prefix + "in_proj_weight"], weights[prefix + "in_proj_bias"])
    q, k, v = (t.reshape(batch, length, heads, head_dim).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
    scores = (q * head_dim ** -0.5) @ k.transpose(-2, -1)  # [N, heads, L, L]
    if mask is not None:
        scores = scores + mask
    out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, length, width)
    return F.linear(out, weights[prefix + "out_proj.weight"], weights[prefix + "out_proj.bias"])


def residual_block(x, weights, prefix, heads, mask):
    """Pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(x)) with QuickGELU."""
    x = x + self_attention(layer_norm(x, weights, prefix + "ln_1"), weights, prefix + "attn.", heads, mask)
    hidden = F.linear(layer_norm(x, weights, prefix + "ln_2"), weights[prefix + "mlp.c_fc.weight"],
                      weights[prefix + "mlp.c_fc.bias"])
    hidden = hidden * torch.sigmoid(1.702 * hidden)
    return x + F.linear(hidden, weights[prefix + "mlp.c_proj.weight"], weights[prefix + "mlp.c_proj.bias"])


class FrozenClip:
    def __init__(self, weights, vision_heads=None, text_heads=None):
        self.weights = {name: (t.float() if t.is_floating_point() else t) for name, t in weights.items()}
        for t in self.weights.values():
            t.requires_grad_(False)
        w = self.weights
        self.vision_width = w["visual.conv1.weight"].shape[0]
        self.patch_size = w["visual.conv1.weight"].shape[-1]
        grid = round(math.sqrt(w["visual.positional_embedding"].shape[0] - 1))
        self.image_resolution = grid * self.patch_size
        self.vision_layers = count_blocks(w, "visual.transformer.resblocks.")
        self.text_width = w["token_embedding.weight"].shape[1]
        self.vocab_size = w["token_embedding.weight"].shape[0]
        self.context_length = w["positional_embedding"].shape[0]
        self.text_layers = count_blocks(w, "transformer.resblocks.")
        self.embed_dim = w["text_projection"].shape[1]
        self.vision_heads = vision_heads or self.vision_width // 64
        self.text_heads = text_heads or self.text_width // 64
        self.logit_scale = w["logit_scale"].reshape(()).exp()  # s, fp32
        if self.vocab_size <= EOT:
            raise ValueError(f"model vocabulary {self.vocab_size} lacks SOT/EOT ids {SOT}/{EOT}")
        for width, heads in ((self.vision_width, self.vision_heads), (self.text_width, self.text_heads)):
            if width % heads:
                raise ValueError(f"width {width} is not divisible by {heads} heads")

    def encode_image(self, pixels, visual_prompts):
        """Image features [N, E] (not normalised). visual_prompts: J tensors [k, Wv] (MaPLe: appended after the
        patch tokens before ln_pre, the last k tokens replaced before block l for 1 ≤ l < J)."""
        w = self.weights
        batch = pixels.shape[0]
        x = F.conv2d(pixels, w["visual.conv1.weight"], stride=self.patch_size)  # [N, Wv, g, g]
        x = x.flatten(2).transpose(1, 2)                                          # [N, g*g, Wv]
        class_token = w["visual.class_embedding"].expand(batch, 1, -1)
        x = torch.cat([class_token, x], dim=1) + w["visual.positional_embedding"]
        k = visual_prompts[0].shape[0] if visual_prompts else 0
        if visual_prompts:
            x = torch.cat([x, visual_prompts[0].expand(batch, -1, -1)], dim=1)
        x = layer_norm(x, w, "visual.ln_pre")
        for layer in range(self.vision_layers):
            if 1 <= layer < len(visual_prompts):
                x = torch.cat([x[:, :-k], visual_prompts[layer].expand(batch, -1, -1)], dim=1)
            x = residual_block(x, w, f"visual.transformer.resblocks.{layer}.", self.vision_heads, None)
        return layer_norm(x[:, 0], w, "visual.ln_post") @ w["visual.proj"]

    def encode_text(self, embeddings, eot_positions, deep_text_prompts):
        """Text features [N, E] (not normalised) from token embeddings [N, W, Wt] (layer-0 prompts already in
        place). deep_text_prompts[l] ([k, Wt]) replaces positions 1..k before block l; entry 0 is not used."""
        w = self.weights
        batch, length, _ = embeddings.shape
        x = embeddings + w["positional_embedding"][:length]
        causal_mask = torch.full((length, length), float("-inf")).triu(1)
        for layer in range(self.text_layers):
            if 1 <= layer < len(deep_text_prompts):
                k = deep_text_prompts[layer].shape[0]
                x = torch.cat([x[:, :1], deep_text_prompts[layer].expand(batch, -1, -1), x[:, 1 + k:]], dim=1)
            x = residual_block(x, w, f"transformer.resblocks.{layer}.", self.text_heads, causal_mask)
        x = layer_norm(x, w, "ln_final")
        return x[torch.arange(batch), eot_positions] @ w["text_projection"]


def normalise(x):
    return x / x.norm(dim=-1, keepdim=True)


# ---------------------------------------------------------------------------------------------------------------
# The training state: the batch, the trainable tensors, the u-cache and the EMA table

class TrainingState:
    def __init__(self, model, inputs):
        self.model = model
        self.pixels = inputs["pixels"].float()
        self.blank = inputs["blank"].float()
        self.text_ids = inputs["text_ids"].long()
        self.text_len = inputs["text_len"].long().reshape(-1)
        self.cand_weight = inputs["cand_weight"].float()
        self.hp = {name: float(inputs["hp." + name].reshape(())) for name in HYPERPARAMETERS}
        self.depth = 0
        while f"prompt.text.{self.depth}" in inputs:
            self.depth += 1
        self.text_prompts = [inputs[f"prompt.text.{l}"].float().clone().requires_grad_() for l in range(self.depth)]
        self.couple_weights = [inputs[f"prompt.couple.{l}.weight"].float().clone().requires_grad_()
                               for l in range(self.depth)]
        self.couple_biases = [inputs[f"prompt.couple.{l}.bias"].float().clone().requires_grad_()
                              for l in range(self.depth)]
        self.caa_down = inputs["caa.down"].float().clone().requires_grad_()
        self.caa_up = inputs["caa.up"].float().clone().requires_grad_()
        self.check_shapes()
        self.optimizer = torch.optim.SGD(self.trainable().values(), lr=self.hp["lr"], momentum=self.hp["momentum"],
                                         dampening=0, weight_decay=self.hp["weight_decay"], nesterov=False)
        self.table = torch.ones(model.vocab_size).numpy()  # the EMA token-weight table W[id], float32
        self.build_u_cache()

    @property
    def batch_size(self):
        return self.pixels.shape[0]

    @property
    def candidates(self):
        return self.cand_weight.shape[1]

    @property
    def prompt_length(self):
        return self.text_prompts[0].shape[0]

    def trainable(self):
        named = {}
        for l in range(self.depth):
            named[f"prompt.text.{l}"] = self.text_prompts[l]
            named[f"prompt.couple.{l}.weight"] = self.couple_weights[l]
            named[f"prompt.couple.{l}.bias"] = self.couple_biases[l]
        named["caa.down"] = self.caa_down
        named["caa.up"] = self.caa_up
        return named

    def check_shapes(self):
        m = self.model
        b, c = self.batch_size, self.candidates
        texts, max_length = self.text_ids.shape
        if self.depth < 1:
            raise ValueError("inputs hold no prompt.text.0")
        if self.depth > min(m.vision_layers, m.text_layers):
            raise ValueError(f"prompt depth {self.depth} exceeds the towers' layers")
        k = self.prompt_length
        expected = {
            "pixels": (self.pixels.shape, (b, 3, m.image_resolution, m.image_resolution)),
            "blank": (self.blank.shape, (1, 3, m.image_resolution, m.image_resolution)),
            "text_ids": (self.text_ids.shape, (b * (1 + c), max_length)),
            "text_len": (self.text_len.shape, (texts,)),
            "caa.down": (self.caa_down.shape, (self.caa_down.shape[0], m.embed_dim)),
            "caa.up": (self.caa_up.shape, (m.embed_dim, self.caa_down.shape[0])),
        }
        for l in range(self.depth):
            expected[f"prompt.text.{l}"] = (self.text_prompts[l].shape, (k, m.text_width))
            expected[f"prompt.couple.{l}.weight"] = (self.couple_weights[l].shape, (m.vision_width, m.text_width))
            expected[f"prompt.couple.{l}.bias"] = (self.couple_biases[l].shape, (m.vision_width,))
        for name, (got, want) in expected.items():
            if tuple(got) != tuple(want):
                raise ValueError(f"inputs: {name} has shape {list(got)}, expected {list(want)}")
        if self.text_len.min() < 1 or self.text_len.max() > max_length:
            raise ValueError("inputs: text_len out of 1..Lmax")
        if 1 + k + int(self.text_len.max()) + 1 > m.context_length:
            raise ValueError(f"inputs: SOT + {k} prompts + captions + EOT exceed the context {m.context_length}")
        if self.text_ids.min() < 0 or self.text_ids.max() >= m.vocab_size:
            raise ValueError("inputs: text_ids out of the vocabulary")

    def caption_mask(self):
        """[T, Lmax] bool: True at the caption positions j < len_t."""
        return torch.arange(self.text_ids.shape[1]) < self.text_len[:, None]

    def build_u_cache(self, chunk=1024):
        """u[id] = norm(T([SOT, id, EOT])) with the unprompted text tower (EOT at index 2), for every distinct
        caption id; stored as rows u_rows with u_row_of_id mapping an id to its row."""
        distinct_ids = torch.unique(self.text_ids[self.caption_mask()])
        rows = []
        with torch.no_grad():
            for start in range(0, len(distinct_ids), chunk):
                ids = distinct_ids[start:start + chunk]
                sequences = torch.stack([torch.full_like(ids, SOT), ids, torch.full_like(ids, EOT)], dim=1)
                embeddings = self.model.weights["token_embedding.weight"][sequences]
                eot_positions = torch.full((len(ids),), 2, dtype=torch.long)
                rows.append(normalise(self.model.encode_text(embeddings, eot_positions, [])))
        self.u_rows = torch.cat(rows)
        self.u_row_of_id = torch.full((self.model.vocab_size,), -1, dtype=torch.long)
        self.u_row_of_id[distinct_ids] = torch.arange(len(distinct_ids))


# ---------------------------------------------------------------------------------------------------------------
# One step (docs/METHOD.md §7.4)

def dynamic_token_weights(state, z, z_blank):
    """w_tj = clamp(Δ_tj / mean_j Δ_tj, w_min, w_max), Δ_tj = |s·u·z_blank − s·u·z_anchor(t)|; 1 at padding and
    where the mean is 0. No gradient."""
    s = state.model.logit_scale
    mask = state.caption_mask()
    u = state.u_rows[state.u_row_of_id[state.text_ids.clamp(min=0)].clamp(min=0)]  # [T, Lmax, E]
    anchor_image = torch.arange(state.text_ids.shape[0]) // (1 + state.candidates)
    score_image = s * torch.einsum("tje,te->tj", u, z[anchor_image])
    score_blank = s * (u @ z_blank[0])
    delta = (score_blank - score_image).abs().masked_fill(~mask, 0)
    mean = delta.sum(dim=1) / state.text_len
    weights = (delta / mean[:, None]).clamp(state.hp["w_min"], state.hp["w_max"])
    weights = torch.where((mean > 0)[:, None] & mask, weights, torch.ones_like(weights))
    return weights


def update_ema_table(state, token_weights):
    """table[id] = m·table[id] + (1−m)·w for every caption token, text by text, position by position, in float32."""
    table = state.table
    m = torch.tensor(state.hp["ema"], dtype=torch.float32).numpy()[()]  # a numpy float32 scalar
    one_minus_m = torch.tensor(1.0, dtype=torch.float32).numpy()[()] - m
    ids = state.text_ids.tolist()
    lengths = state.text_len.tolist()
    weights = token_weights.numpy()
    for t, length in enumerate(lengths):
        for j in range(length):
            token = ids[t][j]
            table[token] = m * table[token] + one_minus_m * weights[t, j]


def prompted_text_embeddings(state, token_weights):
    """[SOT, v_0 (k), w ⊙ E(ids), EOT, 0 …] as embeddings [T, W, Wt], W = max_t(1+k+len_t+1), and the EOT
    positions 1+k+len_t."""
    k = state.prompt_length
    texts = state.text_ids.shape[0]
    width = 1 + k + int(state.text_len.max()) + 1
    caption_length = width - k - 2
    mask = state.caption_mask()[:, :caption_length]
    sequences = torch.zeros(texts, width, dtype=torch.long)
    sequences[:, 0] = SOT
    sequences[:, 1 + k:1 + k + caption_length] = state.text_ids[:, :caption_length].masked_fill(~mask, 0)
    eot_positions = 1 + k + state.text_len
    sequences[torch.arange(texts), eot_positions] = EOT
    row_scale = torch.ones(texts, width)
    row_scale[:, 1 + k:1 + k + caption_length] = token_weights[:, :caption_length]
    x = state.model.weights["token_embedding.weight"][sequences] * row_scale[:, :, None]
    x = torch.cat([x[:, :1], state.text_prompts[0].expand(texts, -1, -1), x[:, 1 + k:]], dim=1)
    return x, eot_positions


def training_step(state):
    """zero_grad, forward, backward, SGD step. Returns (loss, loss_con, loss_cate) as floats (before the update)."""
    model, hp = state.model, state.hp
    s = model.logit_scale
    b, group = state.batch_size, 1 + state.candidates
    state.optimizer.zero_grad()
    # 1. visual prompts from text prompts
    visual_prompts = [F.linear(v, weight, bias)
                      for v, weight, bias in zip(state.text_prompts, state.couple_weights, state.couple_biases)]
    # 2–3. image features, and the blank image's without gradient
    z = normalise(model.encode_image(state.pixels, visual_prompts))
    with torch.no_grad():
        z_blank = normalise(model.encode_image(state.blank, visual_prompts))
        # 4. dynamic token weights and the EMA table
        token_weights = dynamic_token_weights(state, z.detach(), z_blank)
    update_ema_table(state, token_weights)
    # 5. prompted, re-weighted text features of every text
    embeddings, eot_positions = prompted_text_embeddings(state, token_weights)
    h = normalise(model.encode_text(embeddings, eot_positions, state.text_prompts))
    # 6. symmetric contrastive loss against the positives
    h_positive = h[0::group]
    logits = s * z @ h_positive.t()
    targets = torch.arange(b)
    loss_con = 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets))
    # 7. CAA on every text, then the category loss with denominator weights (log 0 = −inf drops a candidate)
    r = hp["caa_ratio"]
    adapted = torch.relu(torch.relu(h @ state.caa_down.t()) @ state.caa_up.t())
    g = normalise(r * adapted + (1 - r) * h).reshape(b, group, -1)
    candidate_logits = s * torch.einsum("be,bje->bj", z, g)
    log_weights = torch.cat([torch.ones(b, 1), state.cand_weight], dim=1).log()
    loss_cate = (torch.logsumexp(candidate_logits + log_weights, dim=1) - candidate_logits[:, 0]).mean()
    # 8. total, backward, SGD
    loss = loss_con + hp["lambda"] * loss_cate
    loss.backward()
    state.optimizer.step()
    return loss.item(), loss_con.item(), loss_cate.item()


def check_gradients(state):
    """Every trainable tensor: a finite, non-zero gradient. Every CLIP tensor: none."""
    problems = []
    for name, t in state.trainable().items():
        if t.grad is None:
            problems.append(f"{name}: no gradient")
        elif not torch.isfinite(t.grad).all():
            problems.append(f"{name}: non-finite gradient")
        elif t.grad.abs().max() == 0:
            problems.append(f"{name}: zero gradient")
        else:
            print(f"grad\t{name}\tnorm {t.grad.norm():.6g}", file=sys.stderr)
    for name, t in state.model.weights.items():
        if t.requires_grad or t.grad is not None:
            problems.append(f"CLIP tensor {name} has a gradient")
    for problem in problems:
        print(f"tune_reference.py: {problem}", file=sys.stderr)
    print(f"gradient check: {'FAILED' if problems else 'ok'} ({len(state.trainable())} trainable tensors, "
          f"{len(state.model.weights)} frozen CLIP tensors)", file=sys.stderr)
    return not problems


# ---------------------------------------------------------------------------------------------------------------
# Commands

def command_step(args):
    model = FrozenClip(read_safetensors(args.model), args.vision_heads, args.text_heads)
    state = TrainingState(model, read_safetensors(args.inputs))
    seconds = []
    first_loss = None
    for index in range(1, args.steps + 1):
        start = time.perf_counter()
        loss, loss_con, loss_cate = training_step(state)
        seconds.append(time.perf_counter() - start)
        print(f"step\t{index}\t{seconds[-1]:.6f}\t{loss:.9g}\t{loss_con:.9g}\t{loss_cate:.9g}", flush=True)
        first_loss = loss if first_loss is None else first_loss
        if args.print_losses:
            print(f"step {index:4d}  loss {loss:.6f}  (con {loss_con:.6f}, cate {loss_cate:.6f})  "
                  f"change since step 1 {loss - first_loss:+.6f}", file=sys.stderr)
    timed = seconds[1:] if len(seconds) >= 3 else seconds
    print(f"median\tpython\t{statistics.median_high(timed):.6f}")
    if args.save_params:
        write_safetensors(args.save_params, state.trainable())
    if args.save_table:
        write_safetensors(args.save_table, {"dtr.table": torch.from_numpy(state.table)})
    if args.check_grads and not check_gradients(state):
        sys.exit(1)


def command_make_inputs(args):
    header, _ = read_safetensors_header(args.model)
    vision_width, _, _, patch_size = header["visual.conv1.weight"]["shape"]
    resolution = round(math.sqrt(header["visual.positional_embedding"]["shape"][0] - 1)) * patch_size
    vocab_size, text_width = header["token_embedding.weight"]["shape"]
    embed_dim = header["text_projection"]["shape"][1]
    layers = min(count_blocks(header, "visual.transformer.resblocks."), count_blocks(header, "transformer.resblocks."))
    b, c, max_length, k = args.batch, args.candidates, args.length, args.prompt_length
    if not (1 <= args.depth <= layers):
        raise SystemExit(f"tune_reference.py: --depth must be 1..{layers} for this model")
    if vocab_size <= EOT:
        raise SystemExit(f"tune_reference.py: model vocabulary {vocab_size} lacks SOT/EOT")
    gen = torch.Generator().manual_seed(args.seed)

    def uniform(shape, bound):
        return (torch.rand(shape, generator=gen) * 2 - 1) * bound

    def random_ids(n):
        return torch.randint(1, SOT, (n,), generator=gen)  # any id but 0, SOT, EOT

    # Captions: each positive 20–40 tokens (the first exactly --length); each candidate is the positive with
    # two tokens changed, like a category swap or an attribute negative.
    text_ids = torch.zeros(b * (1 + c), max_length, dtype=torch.long)
    text_len = torch.zeros(b * (1 + c), dtype=torch.long)
    for i in range(b):
        length = max_length if i == 0 else int(torch.randint(max(1, max_length // 2), max_length + 1, (1,),
                                                             generator=gen))
        positive = random_ids(length)
        for j in range(1 + c):
            caption = positive.clone()
            if j > 0:
                positions = torch.randperm(length, generator=gen)[:2]
                caption[positions] = random_ids(len(positions))
            text_ids[i * (1 + c) + j, :length] = caption
            text_len[i * (1 + c) + j] = length
    # Weights: the last candidate has the anchor's class (1 + α), the others not (1); every fourth image,
    # from the second, lacks its first candidate (0).
    cand_weight = torch.ones(b, c)
    cand_weight[:, c - 1] = 1 + args.alpha
    if c >= 2:
        cand_weight[1::4, 0] = 0
    tensors = {
        "pixels": torch.randn(b, 3, resolution, resolution, generator=gen),
        "blank": torch.zeros(1, 3, resolution, resolution),
        "text_ids": text_ids,
        "text_len": text_len,
        "cand_weight": cand_weight,
    }
    for l in range(args.depth):
        tensors[f"prompt.text.{l}"] = 0.02 * torch.randn(k, text_width, generator=gen)
        tensors[f"prompt.couple.{l}.weight"] = uniform((vision_width, text_width), text_width ** -0.5)
        tensors[f"prompt.couple.{l}.bias"] = uniform((vision_width,), text_width ** -0.5)
    tensors["caa.down"] = uniform((args.caa_hidden, embed_dim), embed_dim ** -0.5)
    tensors["caa.up"] = uniform((embed_dim, args.caa_hidden), args.caa_hidden ** -0.5)
    for name, value in HYPERPARAMETERS.items():
        tensors["hp." + name] = torch.tensor(value, dtype=torch.float32)
    write_safetensors(args.out, tensors)


def command_tiny_model(args):
    """clip_reference's tiny CLIP, three layers per tower, with the real vocabulary and context, s = 100."""
    ref.EMBED, ref.IMAGE, ref.PATCH = 64, 32, 8
    ref.V_WIDTH, ref.V_LAYERS, ref.T_WIDTH, ref.T_LAYERS = 128, 3, 128, 3
    ref.VOCAB, ref.CONTEXT, ref.SOT, ref.EOT = 49408, 77, SOT, EOT
    torch.manual_seed(0)
    model = ref.TinyClip(vision_heads=ref.V_WIDTH // 64, text_heads=ref.T_WIDTH // 64).eval()  # heads of 64, for these sizes
    ref.randomise(model)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
    # OpenAI's architecture (QuickGELU, heads of 64), recorded as dcar records it.
    write_safetensors(args.out, model.state_dict(), {"format": "pt", "dcar.architecture": "openai"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    step = commands.add_parser("step", help="time N training steps on one batch")
    step.add_argument("--model", required=True)
    step.add_argument("--inputs", required=True)
    step.add_argument("--steps", type=int, default=8)
    step.add_argument("--threads", type=int, default=2)
    step.add_argument("--vision-heads", type=int)
    step.add_argument("--text-heads", type=int)
    step.add_argument("--save-params")
    step.add_argument("--save-table")
    step.add_argument("--print-losses", action="store_true")
    step.add_argument("--check-grads", action="store_true")
    make = commands.add_parser("make-inputs", help="write a random batch and prompts")
    make.add_argument("--model", required=True)
    make.add_argument("--out", required=True)
    make.add_argument("--batch", type=int, default=32)
    make.add_argument("--candidates", type=int, default=5)
    make.add_argument("--length", type=int, default=40)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--prompt-length", type=int, default=2)
    make.add_argument("--depth", type=int, default=9)
    make.add_argument("--caa-hidden", type=int, default=128)
    make.add_argument("--alpha", type=float, default=0.5)
    make.add_argument("--threads", type=int, default=2)
    tiny = commands.add_parser("tiny-model", help="write a small CLIP for quick tests")
    tiny.add_argument("out")
    tiny.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.command == "step":
        if args.steps < 1:
            parser.error("--steps must be at least 1")
        command_step(args)
    elif args.command == "make-inputs":
        if min(args.batch, args.candidates, args.length, args.prompt_length, args.caa_hidden) < 1:
            parser.error("--batch, --candidates, --length, --prompt-length and --caa-hidden must be positive")
        command_make_inputs(args)
    else:
        command_tiny_model(args)


if __name__ == "__main__":
    try:
        main()
    except KeyError as error:
        sys.exit(f"tune_reference.py: missing tensor {error}")
    except (ValueError, OSError) as error:
        sys.exit(f"tune_reference.py: {error}")
