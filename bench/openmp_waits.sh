#!/usr/bin/env bash
# A pretraining step of world v2's backbone (dcar-tune --method full, the demo's recipe: ViT 96 px with the
# two-layer stem, batch 64) with libgomp's idle threads sleeping (OMP_WAIT_POLICY=PASSIVE, what dcar-tune sets
# when the variable is unset) against libgomp's default, in which they spin after every parallel region
# (OMP_WAIT_POLICY set but empty: dcar-tune keeps a value that is set, and libgomp reads an empty one as unset).
# Same binary, world, seed and threads, one run after the other; STEPS steps each, the figure is the median of
# steps 11..STEPS. The losses of every step must be equal: the setting changes when threads run, not what they compute.
# Usage: bench/openmp_waits.sh BUILD_DIR [STEPS]   (STEPS default 40; THREADS default: all cores)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
STEPS=${2:-40}
THREADS=${THREADS:-$(nproc)}
OUT=${OUT:-$(cd "$(dirname "$0")" && pwd)/out/openmp_waits}
mkdir -p "$OUT"
export DCAR_VOCAB=${DCAR_VOCAB:-$BUILD/share/dcar/bpe_simple_vocab_16e6.txt}
W=$OUT/world
[ -f "$W/world.json" ] || "$BUILD/dcar-world" --world-version 2 --seed 7 --pretrain-per-class 100 --threads "$THREADS" --quiet "$W"
BACKBONE=$(sed -n 's/^BACKBONE ?= \(.*stem.*\)$/\1/p' "$(dirname "$0")/../demo/world.mk")
[ -n "$BACKBONE" ] || { echo "bench/openmp_waits.sh: no world v2 BACKBONE in demo/world.mk" >&2; exit 1; }
run() {  # run NAME POLICY
  rm -rf "$OUT/$1" "$OUT/$1.jsonl"
  OMP_WAIT_POLICY=$2 "$BUILD/dcar-tune" --method full --init-size "$BACKBONE" --batch 64 --epochs 4 --threads "$THREADS" \
    --layout as-is --image-root "$W" --max-steps "$STEPS" --step-log "$OUT/$1.jsonl" -o "$OUT/$1" "$W/pretrain.json" 2>"$OUT/$1.log"
}
run passive PASSIVE
run default ""
/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/results.tsv"
import json, statistics, sys
out = sys.argv[1]
logs = {name: [json.loads(line) for line in open(f"{out}/{name}.jsonl")] for name in ("passive", "default")}
median = {name: statistics.median(s["seconds"] for s in steps[10:]) for name, steps in logs.items()}
same = [a["loss"] for a in logs["passive"]] == [b["loss"] for b in logs["default"]]
print("omp_wait_policy\tseconds_per_step\tratio")
print(f"PASSIVE\t{median['passive']:.3f}\t{median['passive'] / median['default']:.2f}")
print(f"default (spinning)\t{median['default']:.3f}\t1.00")
print(f"losses of all {len(logs['passive'])} steps equal\t{'yes' if same else 'NO'}")
sys.exit(0 if same else 1)
PY
