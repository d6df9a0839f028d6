#!/usr/bin/python3
"""Is a backbone pretrained again the committed one, by its numbers? Compares two demo summaries
(demo/summary.py) of zero-shot runs on the same world: every G1 probe accuracy (images, class token, captions)
and zero-shot Recall@1/5/10 in both directions must agree within TOLERANCE points.
  compare_backbones.py COMMITTED.summary.json NEW.summary.json
Prints one TSV line per figure (name, committed, new, difference) and exits 1 when any differs by more.
"""
import json
import sys

TOLERANCE = 1.0


def figures(path):
    with open(path) as f:
        summary = json.load(f)
    out = {}
    for attribute, probe in summary["gates"]["G1"].get("probes", {}).items():
        for column in ("images", "class-token", "captions"):
            if probe.get(column) is not None:
                out[f"probe {attribute} {column}"] = probe[column]
    for direction, recalls in summary["methods"]["zeroshot"]["mean"].items():
        for k, value in recalls.items():
            out[f"zeroshot {direction} {k}"] = value
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_backbones.py COMMITTED.summary.json NEW.summary.json")
    committed, new = figures(sys.argv[1]), figures(sys.argv[2])
    if set(committed) != set(new):
        sys.exit(f"compare_backbones.py: the summaries hold other figures: {sorted(set(committed) ^ set(new))}")
    worst = 0.0
    for name in sorted(committed):
        difference = new[name] - committed[name]
        worst = max(worst, abs(difference))
        print(f"{name}\t{committed[name]:.1f}\t{new[name]:.1f}\t{difference:+.1f}")
    verdict = "within" if worst <= TOLERANCE else "NOT within"
    print(f"largest difference {worst:.1f} points: {verdict} {TOLERANCE} point", file=sys.stderr)
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
