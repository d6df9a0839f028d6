#!/usr/bin/python3
"""Benchmark data: N clustered unit vectors of dimension D as .npy (float32) with an .ids sidecar.
  make_data.py OUT_PREFIX N D SEED"""
import sys

import numpy as np

prefix, n, d, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
centres = np.random.default_rng(12345).standard_normal((1000, d)).astype(np.float32)
out = np.lib.format.open_memmap(prefix + ".npy", mode="w+", dtype=np.float32, shape=(n, d))
for start in range(0, n, 100000):
    m = min(100000, n - start)
    out[start:start + m] = centres[rng.integers(0, 1000, m)] + 0.7 * rng.standard_normal((m, d), dtype=np.float32)
out.flush()
with open(prefix + ".ids", "w") as f:
    f.writelines(f"{prefix.rsplit('/', 1)[-1]}{i}\n" for i in range(n))
