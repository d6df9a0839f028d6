#!/usr/bin/python3
"""The paired per-seed difference of two methods' R@1, with a 95 % t interval.
  paired.py --seeds 1,2,3,4,5 A_PATTERN B_PATTERN
Each PATTERN names a dcar-score --json report with "{seed}" where the seed goes, e.g.
demo-out/compare/seed{seed}/dcar/score.json. For each direction, d_s = A_s − B_s (R@1 in points) over the
seeds; prints TSV "direction  mean  std  low  high  seeds" with the interval mean ± t(0.975, n−1) · std / √n.
"""
import argparse
import json
import math
import statistics

# t(0.975, df) for df = 1..30 (standard tables); beyond 30 the normal 1.96 is within 2 %.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def r1(path, direction):
    with open(path) as f:
        return 100 * json.load(f)["metrics"][f"{direction}_recall@1"]


def interval(differences):
    n = len(differences)
    mean = statistics.fmean(differences)
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    std = statistics.stdev(differences)
    half = (T975[n - 2] if n - 1 <= len(T975) else 1.96) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def main():
    parser = argparse.ArgumentParser(description="paired per-seed R@1 difference with a 95 % t interval")
    parser.add_argument("--seeds", required=True)
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    seeds = [s for s in args.seeds.split(",") if s]
    print("direction\tmean\tstd\tlow\thigh\tseeds")
    for direction in ("i2t", "t2i"):
        d = [r1(args.a.format(seed=s), direction) - r1(args.b.format(seed=s), direction) for s in seeds]
        mean, std, low, high = interval(d)
        print(f"{direction}\t{mean:.2f}\t{std:.2f}\t{low:.2f}\t{high:.2f}\t{len(d)}")


if __name__ == "__main__":
    main()
