#!/usr/bin/python3
"""Which attributes do embeddings encode? A linear probe per attribute on the embeddings of a manifest's items.
  probe.py MANIFEST [LABEL=]EMBEDDINGS.npy...      (.npy with its .ids sidecar, e.g. from dcar-cat -F npy)
For every attribute in the manifest's records ("attributes", plus meta_category as "family" and class_name as
"class"), a ridge least-squares one-vs-rest classifier on the L2-normalised embeddings is trained and tested
in folds. Class attributes are constant within a class, so their folds hold out whole classes (6 folds): the
probe must read the attribute, not recognise the class. "class" itself uses 5 random folds. Caption rows
(id#j) count for their item. Prints TSV: attribute, number of values, majority-class accuracy, then the
probe's accuracy (%) for each input. "majority" is the share of the commonest value. Holding out whole
classes skews the training folds against the held-out values, so a probe that reads nothing scores below it.
"""
import json
import sys

import numpy as np

RIDGE = 1.0
SEED = 2026


def load_rows(path):
    vectors = np.load(path).astype(np.float64)
    with open(path[: -len(".npy")] + ".ids") as f:
        ids = [line.rstrip("\n").split("\t")[0].split("#")[0] for line in f]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, ids


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
    return 100 * correct / len(y), 100 * np.bincount(y).max() / len(y), len(values)


def main():
    manifest_path, inputs = sys.argv[1], sys.argv[2:]
    with open(manifest_path) as f:
        items = json.load(f)
    rng = np.random.default_rng(SEED)
    classes = sorted({r["class_name"] for r in items.values()})
    class_fold = dict(zip(rng.permutation(classes), np.arange(len(classes)) % 6))
    table, header = {}, ["attribute", "values", "majority"]
    for argument in inputs:
        label, _, path = argument.partition("=")
        if not path or "/" in label:
            label, path = argument, argument
        header.append(label)
        x, ids = load_rows(path)
        records = [items[i] for i in ids]
        attributes = {"class": [r["class_name"] for r in records], "family": [r["meta_category"] for r in records]}
        for name in records[0]["attributes"]:
            attributes[name] = [str(r["attributes"][name]) for r in records]
        random_fold = np.random.default_rng(SEED).permutation(len(ids)) % 5
        by_class = np.array([class_fold[r["class_name"]] for r in records])
        for name, labels in attributes.items():
            accuracy, majority, count = probe_accuracy(x, labels, random_fold if name == "class" else by_class)
            table.setdefault(name, [name, str(count), f"{majority:.1f}"]).append(f"{accuracy:.1f}")
    print("\t".join(header))
    for row in table.values():
        print("\t".join(row))


if __name__ == "__main__":
    main()
