#!/usr/bin/python3
"""Reference for bench/run.sh: the same index operations as dcar-index / dcar-query, through FAISS's own Python
bindings (Debian python3-faiss, the same FAISS 1.7.3 library). It reads the same .npy + .ids inputs,
normalises, trains on the same number of rows, adds, writes the index; queries write the same TSV lines.

  faiss_reference.py build FACTORY TRAIN_ROWS INPUT.npy OUT.index
  faiss_reference.py query INDEX BASE.ids QUERIES.npy K PARAM=VALUE|- OUT.tsv
"""
import sys

import faiss
import numpy as np


def read_ids(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t", 1)[0] for line in f]


def build(factory, train_rows, inp, out):
    x = np.load(inp).astype(np.float32)
    read_ids(inp[:-4] + ".ids")  # dcar reads the ids too; keep the work equal
    faiss.normalize_L2(x)
    index = faiss.index_factory(x.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        rng = np.random.default_rng(1)
        sample = x[rng.choice(len(x), min(int(train_rows), len(x)), replace=False)]
        index.train(sample)
    index.add(x)
    faiss.write_index(index, out)


def query(index_path, base_ids, queries, k, param, out):
    index = faiss.read_index(index_path)
    ids = read_ids(base_ids)
    if param != "-":
        name, value = param.split("=")
        faiss.ParameterSpace().set_index_parameter(index, name, float(value))
    q = np.load(queries).astype(np.float32)
    qids = read_ids(queries[:-4] + ".ids")
    faiss.normalize_L2(q)
    k = int(k)
    with open(out, "w") as f:
        for start in range(0, len(q), 4096):
            scores, labels = index.search(q[start:start + 4096], k)
            lines = []
            for row in range(len(labels)):
                qid = qids[start + row]
                for rank in range(k):
                    label = labels[row, rank]
                    if label >= 0:
                        lines.append(f"{qid}\t{rank + 1}\t{ids[label]}\t{scores[row, rank]:.9g}\n")
            f.writelines(lines)


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(*sys.argv[2:6])
    elif sys.argv[1] == "query":
        query(*sys.argv[2:8])
    else:
        sys.exit(__doc__)
