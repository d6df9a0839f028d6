#!/usr/bin/env bash
# dcar-embed against the reference Python pipeline (bench/embed_reference.py: Debian python3-torch +
# torchvision + PIL, DataLoader with one decode worker), side by side on the same cores, with the same
# ViT-B/32-size CLIP in OpenAI's layout and the same random weights. Measures, per side:
#   decode     decoding + CLIP transform of the Caltech JPEGs on one thread (images/s)
#   model-only the image tower on random pixels, batch 32 (images/s), fp32 and (dcar) bf16
#   end2end    files → normalised embeddings (images/s), with peak RSS; plus the cosine of every dcar
#              embedding to the fp32 reference's (goal: ≥ 0.999)
#   captions   dcar-embed --text on the Caltech captions (captions/s)
# Usage: bench/embed.sh BUILD_DIR [IMAGES]   (IMAGES default 320, sampled evenly from ../shared/data/caltech101)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
COUNT=${2:-320}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$HERE/../../shared}
OUT=${OUT:-$HERE/out/embed}
mkdir -p "$OUT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
[ -d "$SHARED/data/caltech101" ] || { echo "bench/embed.sh: needs $SHARED/data/caltech101" >&2; exit 1; }
ninja -C "$BUILD" embed_parts dcar-embed dcar-cat >/dev/null
MODEL=$OUT/vit-b-32-random.safetensors
[ -f "$MODEL" ] || /usr/bin/python3 "$HERE/embed_reference.py" model "$MODEL"
all=$(find "$SHARED/data/caltech101/101_ObjectCategories" -name '*.jpg' | sort)
total=$(echo "$all" | wc -l)
echo "$all" | awk -v n="$COUNT" -v t="$total" 'NR % int(t / n) == 1' | head -n "$COUNT" > "$OUT/list.txt"
RESULTS=$OUT/results.tsv
printf 'what\timpl\titems\tseconds\titems_per_s\tmax_rss_mb\n' > "$RESULTS"
row() {  # row WHAT IMPL ITEMS SECONDS RSS_MB
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(awk -v a="$3" -v b="$4" 'BEGIN{printf "%.2f", a / b}')" "${5:--}" | tee -a "$RESULTS"
}
timed() {  # timed CMD...: runs it, sets WALL and RSS (MB)
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@"
  read -r WALL RSS < "$OUT/time.txt"; RSS=$((RSS / 1024))
}
parse() { awk -F'\t' '{print $2, $3}' "$1"; }

"$BUILD/embed_parts" decode "$OUT/list.txt" > "$OUT/d.txt"; read -r n s < <(parse "$OUT/d.txt"); row decode dcar "$n" "$s"
/usr/bin/python3 "$HERE/embed_reference.py" decode "$OUT/list.txt" > "$OUT/p.txt"; read -r n s < <(parse "$OUT/p.txt"); row decode python "$n" "$s"
for dtype in fp32 bf16; do
  "$BUILD/embed_parts" model-only "$MODEL" 128 32 $dtype > "$OUT/d.txt"; read -r n s < <(parse "$OUT/d.txt"); row "model-only-$dtype" dcar "$n" "$s"
done
/usr/bin/python3 "$HERE/embed_reference.py" model-only "$MODEL" 128 32 > "$OUT/p.txt"; read -r n s < <(parse "$OUT/p.txt"); row model-only-fp32 python "$n" "$s"

timed /usr/bin/python3 "$HERE/embed_reference.py" end2end "$MODEL" "$OUT/list.txt" 32 "$OUT/ref.npy"
row end2end-fp32 python "$COUNT" "$WALL" "$RSS"
for dtype in fp32 bf16; do
  timed "$BUILD/dcar-embed" -q -m "$MODEL" --dtype $dtype -b 32 -o "$OUT/$dtype.dcs" < "$OUT/list.txt"
  row "end2end-$dtype" dcar "$COUNT" "$WALL" "$RSS"
  "$BUILD/dcar-cat" --format npy -o "$OUT/$dtype.npy" "$OUT/$dtype.dcs"
  /usr/bin/python3 "$HERE/cosine.py" "$OUT/$dtype.npy" "$OUT/ref.npy" "cosine-$dtype" dcar-vs-python | tee -a "$RESULTS"
done

/usr/bin/python3 -c "
import json
d = json.load(open('$SHARED/data/fdrd/caltech101_test.json'))
print(''.join(f'{k}\t{v[\"positive\"]}\n' for k, v in list(d.items())[:1024]), end='')" > "$OUT/captions.tsv"
timed "$BUILD/dcar-embed" -q -m "$MODEL" --text -b 64 -o "$OUT/captions.dcs" "$OUT/captions.tsv"
row captions-fp32 dcar 1024 "$WALL" "$RSS"
echo "results: $RESULTS" >&2
