#!/usr/bin/env bash
# Captions at the speed of their length: dcar's text tower against OpenAI's encode_text (bench/embed_reference.py,
# Debian python3-torch), side by side on the same cores, the same ViT-B/32-size CLIP (random weights, text tower
# 512 wide, 12 layers) and the same token ids (dcar's tokenizer writes them for both sides). The reference pads
# every caption to the 77-token context, as OpenAI's tokenize() does; dcar stops each caption at its EOT
# (the causal mask makes the rest irrelevant). Two sets: 1,024 FDRD captions (Caltech-101 test), and 1,024 short
# queries ("a photo of a CLASS.", Caltech-101's class names). Per set and side: the tower alone (captions/s,
# batch 64), dcar-embed --text end to end (with loading the model and tokenizing), and the cosine of every dcar
# embedding to the reference's (goal ≥ 0.99999).
# Usage: bench/text.sh BUILD_DIR      (needs ../shared/data/fdrd, or SHARED=DIR)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$HERE/../../shared}
OUT=${OUT:-$HERE/out/text}
mkdir -p "$OUT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
FDRD=$SHARED/data/fdrd/caltech101_test.json
[ -f "$FDRD" ] || { echo "bench/text.sh: needs $FDRD" >&2; exit 1; }
ninja -C "$BUILD" embed_parts dcar-embed dcar-cat >/dev/null
MODEL=$OUT/vit-b-32-random.safetensors
[ -f "$MODEL" ] || /usr/bin/python3 "$HERE/embed_reference.py" model "$MODEL"
/usr/bin/python3 - "$FDRD" "$OUT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
items = list(d.items())[:1024]
with open(f"{sys.argv[2]}/fdrd.tsv", "w") as f:
    f.writelines(f"{k}\t{v['positive']}\n" for k, v in items)
classes = sorted({v.get("class_name") or k.rsplit("_", 1)[0] for k, v in d.items()})
with open(f"{sys.argv[2]}/short.tsv", "w") as f:
    f.writelines(f"q{i}\ta photo of a {classes[i % len(classes)].replace('_', ' ')}.\n" for i in range(1024))
PY
RESULTS=$OUT/results.tsv
printf 'set\twhat\timpl\tcaptions\tseconds\tcaptions_per_s\tmean_tokens\n' > "$RESULTS"
for set in fdrd short; do
  "$BUILD/embed_parts" tokens "$OUT/$set.tsv" > "$OUT/$set.ids"
  tokens=$(awk '{n += NF} END {printf "%.1f", n / NR}' "$OUT/$set.ids")
  row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$1" "$2" "$3" "$4" "$(awk -v a="$3" -v b="$4" 'BEGIN{printf "%.2f", a / b}')" "$tokens" | tee -a "$RESULTS"; }
  /usr/bin/python3 "$HERE/embed_reference.py" text "$MODEL" "$OUT/$set.ids" 64 "$OUT/$set-ref.npy" > "$OUT/p.txt"
  read -r _ n s < "$OUT/p.txt"
  row tower python "$n" "$s"
  "$BUILD/embed_parts" text-only "$MODEL" "$OUT/$set.tsv" 64 fp32 rows > "$OUT/d.txt"
  read -r _ n s < "$OUT/d.txt"
  row tower dcar "$n" "$s"
  start=$(date +%s.%N)
  "$BUILD/dcar-embed" -q -m "$MODEL" --text -b 64 -o "$OUT/$set.dcs" "$OUT/$set.tsv"
  row end2end dcar 1024 "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.3f", b - a}')"
  "$BUILD/dcar-cat" --format npy -o "$OUT/$set.npy" "$OUT/$set.dcs"
  /usr/bin/python3 "$HERE/cosine.py" "$OUT/$set.npy" "$OUT/$set-ref.npy" "$set" cosine dcar-vs-python | tee -a "$RESULTS"
done
