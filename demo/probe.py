#!/usr/bin/python3
"""Which attributes do embeddings encode? A linear probe per attribute on the embeddings of a manifest's items.
  probe.py MANIFEST [LABEL=]EMBEDDINGS.npy...      (.npy with its .ids sidecar, e.g. from dcar-cat -F npy)
For every attribute in the manifest's records ("attributes", plus meta_category as "family" and class_name as
"class"), a ridge least-squares one-vs-rest classifier on the L2-normalised embeddings is trained and tested in
folds. Class attributes are constant within a class, so their folds hold out whole classes (6 folds): the probe
must read the attribute, not recognise the class. "class" itself uses 5 random folds. Which classes are held out
together moves an accuracy by several points, so every figure is the mean over FOLD_DRAWS draws of the folds (the
same draws for every input). Caption rows (id#j) count for their item; where the item lists what its caption
"mentioned", only captions that mention an attribute are probed for it (the family and the class name are always in
the caption; "-" when none does). Prints TSV: attribute, number of values, the share (%) of its commonest value
among the manifest's items, then the probe's accuracy (%) for each input. Holding out whole classes skews the
training folds against the held-out values, so a probe that reads nothing scores below that share.
"""
import collections
import json
import sys

import numpy as np

from results_table import split_label

RIDGE = 1.0
SEED = 2026
FOLD_DRAWS = 10


def load_rows(path):
    """L2-normalised rows of an .npy with its .ids sidecar (dcar-cat -F npy): the rows, each row's item id (a
    caption's '#j' cut off), whether it is a caption, and its label (the sidecar's second column, or "")."""
    vectors = np.load(path).astype(np.float64)
    with open(path[: -len(".npy")] + ".ids") as f:
        fields = [line.rstrip("\n").split("\t") for line in f]
    ids = [f[0] for f in fields]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors, [i.split("#")[0] for i in ids], np.array(["#" in i for i in ids]),
            np.array([f[1] if len(f) > 1 else "" for f in fields]))


def probe_accuracy(x, labels, folds):
    values = sorted(set(labels))
    y = np.array([values.index(v) for v in labels])
    x = np.hstack([x, np.ones((len(x), 1))])
    correct = 0
    for held in np.unique(folds):
        test, train = folds == held, folds != held
        targets = np.eye(len(values))[y[train]]
        w = np.linalg.solve(x[train].T @ x[train] + RIDGE * np.eye(x.shape[1]), x[train].T @ targets)
        correct += int(np.sum(np.argmax(x[test] @ w, axis=1) == y[test]))
    return 100 * correct / len(y)


def attribute_reader(name):
    if name == "class":
        return lambda r: r["class_name"]
    if name == "family":
        return lambda r: r["meta_category"]
    return lambda r: str(r["attributes"][name])


def main():
    manifest_path, inputs = sys.argv[1], sys.argv[2:]
    with open(manifest_path) as f:
        items = json.load(f)
    classes = sorted({r["class_name"] for r in items.values()})
    draws = [np.random.default_rng(SEED + d) for d in range(FOLD_DRAWS)]
    class_folds = [dict(zip(rng.permutation(classes), np.arange(len(classes)) % 6)) for rng in draws]
    table, header = {}, ["attribute", "values", "majority"]
    for argument in inputs:
        label, path = split_label(argument)
        label = label or path
        header.append(label)
        x, ids, is_caption, _ = load_rows(path)
        records = [items[i] for i in ids]
        random_folds = [np.random.default_rng(SEED + d).permutation(len(ids)) % 5 for d in range(FOLD_DRAWS)]
        by_class = [np.array([fold[r["class_name"]] for r in records]) for fold in class_folds]
        for name in ["class", "family"] + list(records[0]["attributes"]):
            value = attribute_reader(name)
            rows = np.array([not c or name in ("class", "family") or name in r.get("mentioned", [name])
                             for r, c in zip(records, is_caption)])
            labels = [value(r) for r, keep in zip(records, rows) if keep]
            fold_draws = random_folds if name == "class" else by_class
            accuracy = (f"{np.mean([probe_accuracy(x[rows], labels, folds[rows]) for folds in fold_draws]):.1f}"
                        if labels else "-")
            if name not in table:  # the attribute's columns, from the whole manifest, once
                counts = collections.Counter(value(r) for r in items.values())
                commonest = 100 * counts.most_common(1)[0][1] / sum(counts.values())
                table[name] = [name, str(len(counts)), f"{commonest:.1f}"]
            table[name].append(accuracy)
    print("\t".join(header))
    for row in table.values():
        print("\t".join(row))


if __name__ == "__main__":
    main()
