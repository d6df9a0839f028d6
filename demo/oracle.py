#!/usr/bin/python3
"""The retrieval ceiling that captions allow (gate G2): an oracle that knows every image's true attributes and
the class behind each name, and so is limited only by what the captions leave unsaid.
  oracle.py MANIFEST
MANIFEST is a world manifest (FDRD JSON whose records carry "class_name", "attributes" and "mentioned", as
dcar-world writes them); every record is one image with one caption ("positive"; a list counts each caption).
A caption is consistent with an image when the image has the caption's class and, for every attribute the
caption mentions, the value the caption's own image has. The oracle ranks the consistent candidates first, in
random order, so its recall is an expectation, computed exactly:
  text→image: the caption's own image is one of n consistent images: R@K = min(1, K / n);
  image→text: m of the n consistent captions are the image's own: R@K = 1 − C(n − m, K) / C(n, K).
Prints TSV, Recall@K in % (the layout of dcar-score's table):
  direction  R@1  R@5  R@10
"""
import collections
import json
import sys
from math import comb


def captions_of(record):
    positive = record["positive"]
    return positive if isinstance(positive, list) else [positive]


def signature(record, mentioned):
    """What a caption that mentions `mentioned` says about its image: the class and those values."""
    return (record["class_name"],) + tuple(sorted((a, str(record["attributes"][a])) for a in mentioned))


def recall(n_consistent, n_own, k):
    """Expected share of rankings with an own candidate in the top k, own ones placed uniformly at random."""
    if k >= n_consistent:
        return 1.0
    return 1.0 - comb(n_consistent - n_own, k) / comb(n_consistent, k)


def oracle(items, ks=(1, 5, 10)):
    records = list(items.values())
    # Every caption as (its image index, the attributes it mentions).
    captions = [(i, tuple(r.get("mentioned", []))) for i, r in enumerate(records) for _ in captions_of(r)]
    # Images per signature, for each set of mentioned attributes the captions use.
    images_by = {}
    for mentioned in {m for _, m in captions}:
        images_by[mentioned] = collections.Counter(signature(r, mentioned) for r in records)
    t2i = {k: 0.0 for k in ks}
    consistent_captions = collections.Counter()  # per image: how many captions are consistent with it
    for i, mentioned in captions:
        n = images_by[mentioned][signature(records[i], mentioned)]
        for k in ks:
            t2i[k] += recall(n, 1, k)
    for mentioned, count in collections.Counter(m for _, m in captions).items():
        said = collections.Counter(signature(records[i], mentioned) for i, m in captions if m == mentioned)
        for j, r in enumerate(records):
            consistent_captions[j] += said[signature(r, mentioned)]
    own = collections.Counter(i for i, _ in captions)
    i2t = {k: 0.0 for k in ks}
    for j in range(len(records)):
        for k in ks:
            i2t[k] += recall(consistent_captions[j], own[j], k) if own[j] else 0.0
    return ({k: 100 * v / len(records) for k, v in i2t.items()},
            {k: 100 * v / len(captions) for k, v in t2i.items()})


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)
    i2t, t2i = oracle(items)
    print("direction\tR@1\tR@5\tR@10")
    for name, r in (("i2t", i2t), ("t2i", t2i)):
        print(name + "\t" + "\t".join(f"{r[k]:.2f}" for k in (1, 5, 10)))


if __name__ == "__main__":
    main()
