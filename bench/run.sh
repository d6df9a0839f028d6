#!/usr/bin/env bash
# Benchmarks for the torch-free half, each measured side by side with its reference in the same run:
#   1. stream write/read throughput vs the zstd CLI (same level, default 1 as dcar; one thread) on the same bytes;
#   2. dcar-index build / dcar-query vs FAISS's Python bindings (bench/faiss_reference.py) at 100k and 1M × 512.
# Wall time and peak RSS come from /usr/bin/time. Results: $OUT/results.tsv; docs/BENCHMARKS.md quotes them.
# Usage: bench/run.sh BUILD_DIR [SIZES]   (SIZES default "100000 1000000"; REPEAT=n runs each pair n times;
#        CASES="stream index" picks the parts)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SIZES=${2:-"100000 1000000"}
REPEAT=${REPEAT:-1}
LEVEL=${LEVEL:-1}   # zstd level for both sides of the stream benchmark
CASES=${CASES:-"stream index"}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out}
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
printf 'case\timpl\trun\twall_s\tmax_rss_mb\n' > "$RESULTS"
export OMP_NUM_THREADS=$(nproc) OPENBLAS_NUM_THREADS=1   # the same threading for both sides

measure() {  # measure CASE IMPL CMD... : appends wall seconds and peak RSS
  local case=$1 impl=$2; shift 2
  local r
  for r in $(seq 1 "$REPEAT"); do
    /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@" > /dev/null
    read -r wall rss < "$OUT/time.txt"
    printf '%s\t%s\t%s\t%s\t%s\n' "$case" "$impl" "$r" "$wall" "$((rss / 1024))" | tee -a "$RESULTS"
  done
}

D=512
for N in $SIZES; do
  data=$OUT/base$N
  [ -f "$data.npy" ] || /usr/bin/python3 "$HERE/make_data.py" "$data" "$N" "$D" 1
  q=$OUT/q$N
  [ -f "$q.npy" ] || /usr/bin/python3 "$HERE/make_data.py" "$q" 1000 "$D" 2

  # 1. Streams: the same float32 rows, compressed at the same level on one thread by each side.
  # Both write through stdout into a file; "-atomic" is dcar's own -o (temporary + fsync + rename), which
  # the zstd CLI does not do, shown apart so the cost of durability is visible.
  if [[ " $CASES " == *" stream "* ]] && [ "$N" = "$(echo $SIZES | cut -d' ' -f1)" ]; then
    raw=$OUT/raw$N.bin
    tail -c +129 "$data.npy" > "$raw"   # the array bytes without the .npy header
    measure "stream-write-$N" dcar sh -c "'$BUILD/dcar-cat' -q --threads 1 --level $LEVEL --format dcs '$data.npy' > '$OUT/s.dcs'"
    measure "stream-write-$N" zstd-cli sh -c "zstd -q -$LEVEL -T1 -c '$raw' > '$OUT/s.zst'"
    measure "stream-write-atomic-$N" dcar "$BUILD/dcar-cat" -q --threads 1 --level $LEVEL --format dcs -o "$OUT/s.dcs" "$data.npy"
    measure "stream-read-$N" dcar "$BUILD/dcar-cat" -q --threads 1 -c "$OUT/s.dcs"
    measure "stream-read-$N" zstd-cli zstd -q -d -c "$OUT/s.zst"
    printf 'bytes\t%s\t%s\t%s\n' "$(stat -c %s "$raw")" "$(stat -c %s "$OUT/s.dcs")" "$(stat -c %s "$OUT/s.zst")" > "$OUT/stream_sizes$N.tsv"
  fi

  # 2. Index build and query, same factory, same training-set size, same inputs, same output.
  [[ " $CASES " == *" index "* ]] || continue
  for spec in "Flat|0|-" "IVF1024,Flat|65536|nprobe=16" "HNSW32|0|efSearch=64"; do
    IFS='|' read -r factory train param <<<"$spec"
    if [ "$factory" = HNSW32 ] && [ "$N" -gt 100000 ]; then continue; fi  # HNSW at 1M takes too long on 2 cores
    name=$(echo "$factory" | tr ',' '_')
    measure "build-$name-$N" dcar "$BUILD/dcar-index" build -q -f "$factory" --train-sample "$train" -o "$OUT/d.dci" "$data.npy"
    measure "build-$name-$N" faiss-python /usr/bin/python3 "$HERE/faiss_reference.py" build "$factory" "$train" "$data.npy" "$OUT/p.index"
    qopt=(); [ "$param" = - ] || { case $param in nprobe=*) qopt=(--nprobe "${param#*=}");; efSearch=*) qopt=(--ef "${param#*=}");; esac; }
    measure "query-$name-$N" dcar "$BUILD/dcar-query" -q -i "$OUT/d.dci" -k 10 "${qopt[@]}" -o "$OUT/d.tsv" "$q.npy"
    measure "query-$name-$N" faiss-python /usr/bin/python3 "$HERE/faiss_reference.py" query "$OUT/p.index" "$data.ids" "$q.npy" 10 "$param" "$OUT/p.tsv"
    # Same answers? (exact for Flat; for approximate indexes the overlap of the top-10 sets)
    /usr/bin/python3 - "$OUT/d.tsv" "$OUT/p.tsv" "$name-$N" <<'PY' | tee -a "$OUT/agreement.tsv"
import sys, collections
def load(p):
    d = collections.defaultdict(set)
    for line in open(p):
        q, r, g, s = line.split("\t")
        d[q].add(g)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
inter = sum(len(a[q] & b[q]) for q in b); total = sum(len(b[q]) for q in b)
print(f"{sys.argv[3]}\toverlap_of_top10\t{inter / total:.4f}")
PY
  done
done
echo "results: $RESULTS" >&2
