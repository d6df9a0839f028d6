#!/usr/bin/python3
"""Row-by-row cosine of two embedding files (.npy, same rows in the same order), for the bench scripts:
  cosine.py A.npy B.npy LABEL...    prints "LABEL...<TAB>rows<TAB>min M<TAB>mean M" (7 decimals)"""
import sys

import numpy as np

a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print("\t".join(sys.argv[3:] + [str(len(c)), f"min {c.min():.7f}", f"mean {c.mean():.7f}"]))
