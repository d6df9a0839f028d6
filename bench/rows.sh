#!/usr/bin/env bash
# The cost of dcar-embed's byte promise on the CPU (docs/DETERMINISM.md): every item encoded on its own
# (rows) against the whole batch as one call (batched, how dcar-embed ran before), side by side in one run,
# alternating A B A B so that drift on the machine falls on both. Same ViT-B/32-size random-weight CLIP as
# bench/embed.sh; images: the image tower on random pixels, batch 32; captions: the first 1024 Caltech FDRD
# captions (or, without ../shared, 1024 made-up ones of 10–40 words), batch 64.
# Usage: bench/rows.sh BUILD_DIR [REPEATS]   (REPEATS default 2)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
REPEATS=${2:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$HERE/../../shared}
OUT=${OUT:-$HERE/out/rows}
mkdir -p "$OUT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
ninja -C "$BUILD" embed_parts >/dev/null
MODEL=$HERE/out/embed/vit-b-32-random.safetensors
mkdir -p "$(dirname "$MODEL")"
[ -f "$MODEL" ] || /usr/bin/python3 "$HERE/embed_reference.py" model "$MODEL"
if [ -f "$SHARED/data/fdrd/caltech101_test.json" ]; then
  /usr/bin/python3 -c "
import json
d = json.load(open('$SHARED/data/fdrd/caltech101_test.json'))
print(''.join(f'{k}\t{v[\"positive\"]}\n' for k, v in list(d.items())[:1024]), end='')" > "$OUT/captions.tsv"
else
  /usr/bin/python3 -c "
import random
r = random.Random(1); w = 'a photo of the small red bird with long wings on grey rock near water and trees'.split()
print(''.join(f'c{i}\t{\" \".join(r.choice(w) for _ in range(r.randint(10, 40)))}\n' for i in range(1024)), end='')" > "$OUT/captions.tsv"
fi
# bf16 only where the CPU has bfloat16 instructions: elsewhere it is emulated, and far slower than fp32.
DTYPES=fp32
grep -qw avx512_bf16 /proc/cpuinfo && DTYPES="fp32 bf16"
RESULTS=$OUT/results.tsv
printf 'what\tmode\titems\tseconds\titems_per_s\n' > "$RESULTS"
for _ in $(seq "$REPEATS"); do
  for mode in batched rows; do
    for dtype in $DTYPES; do
      "$BUILD/embed_parts" model-only "$MODEL" 128 32 $dtype $mode |
        awk -F'\t' -v w="images-$dtype" -v m=$mode '{printf "%s\t%s\t%s\t%s\t%.2f\n", w, m, $2, $3, $2 / $3}' | tee -a "$RESULTS"
    done
    "$BUILD/embed_parts" text-only "$MODEL" "$OUT/captions.tsv" 64 fp32 $mode |
      awk -F'\t' -v m=$mode '{printf "captions-fp32\t%s\t%s\t%s\t%.2f\n", m, $2, $3, $2 / $3}' | tee -a "$RESULTS"
  done
done
echo "results: $RESULTS" >&2
