#!/usr/bin/env bash
# The cluster path, each case measured side by side in one run (wall seconds and peak RSS from /usr/bin/time):
#   merge  dcar-index merge of SHARDS IVF shards of ROWS vectors each, in memory against --ondisk, and a query
#          of 1000 vectors against each result (answers compared: they must be equal);
#   wds    dcar-embed on the same JPEGs as a folder, as an image list and as webdataset tars of 500;
#   array  4 dcar-embed processes with --shard i/4 (what each task of a 4-task array runs; no scheduler), 1
#          thread each, against one process with 2 threads on the same images; and the per-task overhead
#          (start-up and model load: a run on one image).
# The images are the train split of a small synthetic world (dcar-world); the model is a ViT-B/32-size CLIP
# with random weights (bench/embed_reference.py), and for `wds` also the tests' tiny CLIP, where reading the
# input weighs more.
# Usage: bench/cluster.sh BUILD_DIR   (CASES="merge wds array", SHARDS=64, ROWS=100000, DIM=128)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/cluster}
CASES=${CASES:-"merge wds array"}
SHARDS=${SHARDS:-64} ROWS=${ROWS:-100000} DIM=${DIM:-128}
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
printf 'case\timpl\titems\twall_s\tmax_rss_mb\n' > "$RESULTS"
export OMP_NUM_THREADS=$(nproc) OPENBLAS_NUM_THREADS=1
timed() {  # timed CASE IMPL ITEMS CMD...
  local case=$1 impl=$2 items=$3; shift 3
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@" > /dev/null
  read -r wall rss < "$OUT/time.txt"
  printf '%s\t%s\t%s\t%s\t%s\n' "$case" "$impl" "$items" "$wall" "$((rss / 1024))" | tee -a "$RESULTS"
}

if [[ " $CASES " == *" merge "* ]]; then
  M=$OUT/merge
  mkdir -p "$M"
  /usr/bin/python3 - "$M" "$SHARDS" "$ROWS" "$DIM" <<'PY'
import os, sys, numpy as np
out, shards, rows, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
centres = np.random.default_rng(7).standard_normal((1000, dim)).astype(np.float32)
for s in range(shards + 1):  # the last one gives the queries
    name = f"{out}/p{s}" if s < shards else f"{out}/queries"
    if os.path.exists(name + ".npy"): continue
    rng = np.random.default_rng(100 + s)
    n = rows if s < shards else 1000
    x = centres[rng.integers(0, 1000, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    np.save(name + ".npy", x.astype(np.float32))
    with open(name + ".ids", "w") as f:
        f.writelines(f"s{s}-{i}\t\n" for i in range(n))
PY
  [ -f "$M/template.dci" ] || "$BUILD/dcar-index" build -q --train-only --train-sample 65536 -f IVF1024,Flat -o "$M/template.dci" "$M/p0.npy" "$M/p1.npy"
  for s in $(seq 0 $((SHARDS - 1))); do
    [ -f "$M/shard$s.dci" ] || "$BUILD/dcar-index" add -q "$M/template.dci" -o "$M/shard$s.dci" "$M/p$s.npy"
  done
  rm -f "$M"/memory.dci "$M"/disk.dci*
  shards=$(for s in $(seq 0 $((SHARDS - 1))); do printf '%s ' "$M/shard$s.dci"; done)
  # shellcheck disable=SC2086
  timed merge in-memory $((SHARDS * ROWS)) "$BUILD/dcar-index" merge -q -o "$M/memory.dci" $shards
  # shellcheck disable=SC2086
  timed merge ondisk $((SHARDS * ROWS)) "$BUILD/dcar-index" merge -q --ondisk -o "$M/disk.dci" $shards
  timed query in-memory 1000 "$BUILD/dcar-query" -q -i "$M/memory.dci" --nprobe 64 -k 10 -o "$M/memory.tsv" "$M/queries.npy"
  timed query ondisk 1000 "$BUILD/dcar-query" -q -i "$M/disk.dci" --nprobe 64 -k 10 -o "$M/disk.tsv" "$M/queries.npy"
  cmp "$M/memory.tsv" "$M/disk.tsv" || { echo "bench/cluster.sh: the on-disk index answers otherwise" >&2; exit 1; }
  du -b "$M/memory.dci" "$M"/disk.dci* | tee "$M/sizes.txt"
fi

images() {  # the train split of a small world, its list and its tars (500 samples each)
  W=$OUT/world
  [ -f "$W/train.json" ] || "$BUILD/dcar-world" -q --pretrain-per-class 1 --pretrain-per-novel 0 --test-per-class 1 "$W"
  find "$W/images/train" -name '*.jpg' | sort > "$OUT/list.txt"
  [ -f "$OUT/shard-0.tar" ] || /usr/bin/python3 - "$OUT" <<'PY'
import sys, tarfile
out = sys.argv[1]
paths = open(f"{out}/list.txt").read().split()
for t in range(0, len(paths), 500):
    with tarfile.open(f"{out}/shard-{t // 500}.tar", "w") as tar:
        for i, p in enumerate(paths[t:t + 500]):
            tar.add(p, arcname=f"{t + i:06d}.jpg")
PY
  ITEMS=$(wc -l < "$OUT/list.txt")
  VIT=$OUT/vit-b-32-random.safetensors
  [ -f "$VIT" ] || /usr/bin/python3 "$HERE/embed_reference.py" model "$VIT"
  TINY=$OUT/tiny.safetensors
  [ -f "$TINY" ] || /usr/bin/python3 "$HERE/../tests/cli/tiny_clip.py" model "$TINY"
}

if [[ " $CASES " == *" wds "* ]]; then
  images
  for model in "$TINY" "$VIT"; do
    name=$(basename "$model" .safetensors)
    timed "wds-$name" list "$ITEMS" "$BUILD/dcar-embed" -q -m "$model" -o "$OUT/list.dcs" "$OUT/list.txt"
    timed "wds-$name" folder "$ITEMS" "$BUILD/dcar-embed" -q -m "$model" --folder -o "$OUT/folder.dcs" "$OUT/world/images/train"
    timed "wds-$name" webdataset "$ITEMS" "$BUILD/dcar-embed" -q -m "$model" --webdataset -o "$OUT/wds.dcs" "$OUT"/shard-*.tar
  done
fi

if [[ " $CASES " == *" array "* ]]; then
  images
  head -1 "$OUT/list.txt" > "$OUT/one.txt"
  timed array-overhead one-image 1 "$BUILD/dcar-embed" -q -t 1 -m "$VIT" -o "$OUT/one.dcs" "$OUT/one.txt"
  timed array one-process-2-threads "$ITEMS" "$BUILD/dcar-embed" -q -t 2 -m "$VIT" -o "$OUT/whole.dcs" "$OUT/list.txt"
  array() {
    for i in 0 1 2 3; do "$BUILD/dcar-embed" -q -t 1 --shard "$i/4" -m "$VIT" -o "$OUT/task$i.dcs" "$OUT/list.txt" & done
    wait
  }
  export -f array; export BUILD OUT VIT
  timed array four-tasks-1-thread "$ITEMS" bash -c array
fi
echo "results: $RESULTS"
