#!/usr/bin/python3
"""One JSON summary of a world run: the gates that do not depend on the method under test, and every method's
Recall@K (docs/RESULTS.md lists the keys).
  summary.py [--oracle ORACLE.tsv] [--probe PROBE.tsv] [--class-attributes A,B,...]
             [--cut SCORE.json] [LABEL=SCORE.json ...]
  summary.py --verdicts SUMMARY.json       (one line: each gate's pass, true / false / null)
ORACLE.tsv is demo/oracle.py's output; PROBE.tsv demo/probe.py's with the columns "images" and "captions"
(the zero-shot embeddings of the test split) and, optionally, "class-token" (the images' class token before
the projection, demo/class_token.py); --cut dcar-score's JSON for zero-shot with the captions cut by
demo/cut_captions.py; each LABEL=SCORE.json a method's dcar-score JSON (a label may repeat, one file per seed:
the summary holds the mean and the list). The gates, each with its figures and "pass" (null when an input is
missing):
  G1  the backbone sees: image probes (both columns) ≥ 90 % for the family and every class attribute, ≥ 80 %
      for the class;
      caption probes ≥ 90 % for every attribute;
  G2  there is room: oracle R@1 ≥ 40 % both ways, and zero-shot R@1 at most half of the oracle's;
  G3  dilution exists: zero-shot R@1 with the full captions below that with the cut captions, both ways,
      by at least G3_MARGIN points;
  G4  positive control: coop's mean R@1 ≥ zero-shot's + 5 points, both ways.
"""
import argparse
import json
import statistics
import sys

G3_MARGIN = 1.0
DIRECTIONS = ("i2t", "t2i")
KS = (1, 5, 10)


def recalls(path):
    with open(path) as f:
        metrics = json.load(f)["metrics"]
    return {d: {f"R@{k}": 100 * metrics[f"{d}_recall@{k}"] for k in KS} for d in DIRECTIONS}


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return rows[0], rows[1:]


def number(text):
    return None if text in ("-", "") else float(text)


def method_table(arguments):
    runs = {}
    for argument in arguments:
        label, path = argument.split("=", 1)
        runs.setdefault(label, []).append(recalls(path))
    table = {}
    for label, seeds in runs.items():
        mean = {d: {k: statistics.fmean(s[d][k] for s in seeds) for k in seeds[0][d]} for d in DIRECTIONS}
        table[label] = {"mean": mean, "seeds": seeds}
    return table


def gate_g1(path, class_attributes):
    if not path:
        return {"pass": None}
    header, rows = read_tsv(path)
    # Image-side columns: the final embedding ("images") and, where probed, the class token before the
    # projection ("class-token"); both must pass.
    image_columns = [c for c in ("images", "class-token") if c in header]
    captions = header.index("captions")
    probes = {}
    for r in rows:
        probes[r[0]] = {c: number(r[header.index(c)]) for c in image_columns}
        probes[r[0]].update({"captions": number(r[captions]), "majority": float(r[2])})
    failures = []
    for name, p in probes.items():
        need = 80 if name == "class" else 90
        for column in image_columns:
            if (name in ("class", "family") or name in class_attributes) and (p[column] is None or p[column] < need):
                failures.append(f"{column} read {name} at {p[column]} %, need {need}")
        if p["captions"] is not None and p["captions"] < 90:
            failures.append(f"captions read {name} at {p['captions']} %, need 90")
    return {"probes": probes, "class_token_probed": "class-token" in image_columns, "failures": failures,
            "pass": not failures}


def gate_g2(path, zeroshot):
    if not path or not zeroshot:
        return {"pass": None}
    _, rows = read_tsv(path)
    oracle = {r[0]: {f"R@{k}": float(v) for k, v in zip(KS, r[1:])} for r in rows}
    ok = all(oracle[d]["R@1"] >= 40 and zeroshot[d]["R@1"] <= oracle[d]["R@1"] / 2 for d in DIRECTIONS)
    return {"oracle": oracle, "zeroshot_r1": {d: zeroshot[d]["R@1"] for d in DIRECTIONS}, "pass": ok}


def gate_g3(cut, zeroshot):
    if not cut or not zeroshot:
        return {"pass": None}
    ok = all(cut[d]["R@1"] - zeroshot[d]["R@1"] >= G3_MARGIN for d in DIRECTIONS)
    return {"full_r1": {d: zeroshot[d]["R@1"] for d in DIRECTIONS}, "cut_r1": {d: cut[d]["R@1"] for d in DIRECTIONS},
            "margin": G3_MARGIN, "pass": ok}


def gate_g4(methods):
    if "coop" not in methods or "zeroshot" not in methods:
        return {"pass": None}
    coop, zero = methods["coop"]["mean"], methods["zeroshot"]["mean"]
    gain = {d: coop[d]["R@1"] - zero[d]["R@1"] for d in DIRECTIONS}
    return {"coop_minus_zeroshot_r1": gain, "seeds": len(methods["coop"]["seeds"]),
            "pass": all(g >= 5 for g in gain.values())}


def main():
    parser = argparse.ArgumentParser(description="the gates and Recall@K of a world run, as JSON")
    parser.add_argument("--oracle")
    parser.add_argument("--probe")
    parser.add_argument("--class-attributes", default="")
    parser.add_argument("--cut")
    parser.add_argument("--verdicts", metavar="SUMMARY")
    parser.add_argument("methods", nargs="*")
    args = parser.parse_args()
    if args.verdicts:
        with open(args.verdicts) as f:
            gates = json.load(f)["gates"]
        print("  " + "  ".join(f"{name}: {json.dumps(gate['pass'])}" for name, gate in gates.items()))
        return
    methods = method_table(args.methods)
    zeroshot = methods["zeroshot"]["mean"] if "zeroshot" in methods else None
    cut = recalls(args.cut) if args.cut else None
    class_attributes = [a for a in args.class_attributes.split(",") if a]
    summary = {
        "gates": {
            "G1": gate_g1(args.probe, class_attributes),
            "G2": gate_g2(args.oracle, zeroshot),
            "G3": gate_g3(cut, zeroshot),
            "G4": gate_g4(methods),
        },
        "methods": methods,
    }
    json.dump(summary, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
