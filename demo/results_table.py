#!/usr/bin/python3
"""One TSV table of Recall@1/5/10 (percent) in both directions from dcar-score --json reports, one row per
report in the order given; the row's name is the report's "model" field, or LABEL where given as LABEL=FILE.
  results_table.py [--mean] [LABEL=]score.json...   (--mean: reports with one name → mean ± std, one row)"""
import json
import os
import statistics
import sys


def split_label(argument):
    """LABEL=FILE → (LABEL, FILE), split at the last "="; an existing file's own name is never split."""
    label, _, path = argument.rpartition("=")
    return ("", argument) if os.path.exists(argument) or not label else (label, path)


def main() -> None:
    args = sys.argv[1:]
    mean = "--mean" in args
    files = [a for a in args if a != "--mean"]
    rows = {}
    for argument in files:
        label, path = split_label(argument)
        with open(path) as f:
            report = json.load(f)
        m = report["metrics"]
        values = [100 * m[f"{d}_recall@{k}"] for d in ("i2t", "t2i") for k in (1, 5, 10)]
        rows.setdefault(label or report["model"], []).append(values)
    print("method\ti2t R@1\ti2t R@5\ti2t R@10\tt2i R@1\tt2i R@5\tt2i R@10" + ("\truns" if mean else ""))
    for method, runs in rows.items():
        if mean:
            cells = []
            for column in zip(*runs):
                spread = statistics.stdev(column) if len(column) > 1 else 0.0
                cells.append(f"{statistics.mean(column):.1f} ± {spread:.1f}")
            print("\t".join([method] + cells + [str(len(runs))]))
        else:
            for values in runs:
                print("\t".join([method] + [f"{v:.1f}" for v in values]))


if __name__ == "__main__":
    main()
