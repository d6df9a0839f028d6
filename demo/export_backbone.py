#!/usr/bin/python3
"""The demo's committed backbone from a pretraining run of dcar-tune --method full: every weight as fp16, and
the rows of the token embedding that pretraining never updated set to zero.
  export_backbone.py CLIP.safetensors STATE.safetensors OUT.safetensors
STATE is the run's last optimiser state (state-epoch-NNNN.safetensors, AdamW). A token row whose second
moment is zero in every column never received a gradient: no pretraining caption holds that token, so its
values are the random initialisation shrunk by weight decay, and they say nothing. Zeroing them (about 49,300
of CLIP's 49,408 rows in the demo's world) lets the file compress to a few megabytes, and makes every token
the world's pretraining text never used contribute only its position. The fp16 rounding moves the zero-shot
embeddings by about 1e-3 (cosine); the exported file, not the fp32 one, is what the demo and its numbers use.
The output is a deterministic function of the two inputs. Prints one line: rows kept, rows zeroed.
"""
import json
import struct
import sys

import numpy as np

FLOATS = {"F32": np.float32, "F16": np.float16}


def read(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    header.pop("__metadata__", None)
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] not in FLOATS:
            continue  # counters and the like (the optimiser state has some); the weights are all floats
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=FLOATS[entry["dtype"]]).reshape(entry["shape"])
    return tensors


def write(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name]).tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: export_backbone.py CLIP.safetensors STATE.safetensors OUT.safetensors")
    weights, state = read(sys.argv[1]), read(sys.argv[2])
    with open(sys.argv[1], "rb") as f:
        stored = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    if len(weights) != len(stored) - ("__metadata__" in stored):
        sys.exit(f"export_backbone.py: {sys.argv[1]}: a weight that is not F32 or F16")
    second = state.get("optim.token_embedding.weight.second")
    if second is None:
        sys.exit(f"export_backbone.py: {sys.argv[2]}: no AdamW second moment of token_embedding.weight "
                 "(not the state of a --method full run)")
    used = (second != 0).any(axis=1)
    out = {name: t.astype(np.float16) for name, t in weights.items()}
    out["token_embedding.weight"][~used] = 0
    write(sys.argv[3], out)
    print(f"token rows kept {int(used.sum())}, zeroed {int((~used).sum())}")


if __name__ == "__main__":
    main()
