#!/usr/bin/python3
"""The demo's committed backbone from a pretraining run of dcar-tune --method full: every weight as fp16, and
the rows of the token embedding that pretraining never updated set to zero.
  export_backbone.py CLIP.safetensors STATE.safetensors OUT.safetensors [ARCH]
STATE is the run's last optimiser state (state-epoch-NNNN.safetensors, AdamW). A token row whose second
moment is zero in every column never received a gradient: no pretraining caption holds that token, so its
values are the random initialisation shrunk by weight decay, and they say nothing. Zeroing them (about 49,300
of CLIP's 49,408 rows in the demo's world) lets the file compress to a few megabytes, and makes every token
the world's pretraining text never used contribute only its position. The fp16 rounding moves the zero-shot
embeddings by about 1e-3 (cosine); the exported file, not the fp32 one, is what the demo and its numbers use.
The file's metadata (its architecture, "dcar.architecture", which dcar-tune writes) is carried over; ARCH
gives it for a CLIP file written before dcar recorded it (dcar-tune --arch's spelling). The output is a
deterministic function of the inputs. Prints one line: rows kept, rows zeroed.
"""
import sys

import numpy as np

import safetensors_file


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: export_backbone.py CLIP.safetensors STATE.safetensors OUT.safetensors [ARCH]")
    weights, meta = safetensors_file.read(sys.argv[1])
    meta = dict(meta or {})
    if len(sys.argv) == 5:
        meta["dcar.architecture"] = sys.argv[4]
    if "dcar.architecture" not in meta:
        sys.exit(f"export_backbone.py: {sys.argv[1]}: no dcar.architecture in its metadata; give ARCH")
    state, _ = safetensors_file.read(sys.argv[2])
    for name, tensor in weights.items():
        if safetensors_file.as_array(tensor) is None:
            sys.exit(f"export_backbone.py: {sys.argv[1]}: weight {name} is {tensor[0]}, not F32 or F16")
    second = state.get("optim.token_embedding.weight.second")
    if second is None:
        sys.exit(f"export_backbone.py: {sys.argv[2]}: no AdamW second moment of token_embedding.weight "
                 "(not the state of a --method full run)")
    second = safetensors_file.as_array(second)
    used = (second != 0).any(axis=1)
    out = {name: safetensors_file.as_array(t).astype(np.float16) for name, t in sorted(weights.items())}
    out["token_embedding.weight"][~used] = 0
    safetensors_file.write(sys.argv[3], {name: safetensors_file.from_array("F16", t) for name, t in out.items()},
                           meta)
    print(f"token rows kept {int(used.sum())}, zeroed {int((~used).sum())}")


if __name__ == "__main__":
    main()
