#!/usr/bin/python3
"""The learning rate each method keeps: the one whose last epoch has the best validation R@1 (mean of image→text
and text→image, from dcar-tune's checkpoint history, dcar-tune --val or --val-fraction), the first given on a tie.
  pick_lr.py METHOD:LR=CHECKPOINT.json...
Prints TSV "method  lr  val_r1  tried" (tried: every LR with its validation R@1), one row per method, in the
order the methods first appear.
"""
import json
import sys


def val_r1(path):
    with open(path) as f:
        last = json.load(f)["history"][-1]
    if "val_r1_i2t" not in last:
        sys.exit(f"pick_lr.py: {path}: no validation R@1 in its history (train with --val or --val-fraction)")
    return (last["val_r1_i2t"] + last["val_r1_t2i"]) / 2


def main():
    runs = {}
    for argument in sys.argv[1:]:
        name, path = argument.split("=", 1)
        method, lr = name.split(":")
        runs.setdefault(method, []).append((lr, val_r1(path)))
    print("method\tlr\tval_r1\ttried")
    for method, tried in runs.items():
        lr, best = max(tried, key=lambda t: t[1])  # max keeps the first of equal values
        print(f"{method}\t{lr}\t{best:.2f}\t" + " ".join(f"{l}:{v:.2f}" for l, v in tried))


if __name__ == "__main__":
    main()
