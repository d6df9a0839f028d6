#!/usr/bin/env bash
# One DCAR training step (lib/train, through the bench harness tune_parts) against the PyTorch reference
# (bench/tune_reference.py: Debian python3-torch, fp32), side by side on the same cores, with the same
# ViT-B/32-size CLIP in OpenAI's layout (random weights, as bench/embed.sh) and the same batch and initial prompts:
# batch 32, 5 candidates per image, captions up to 40 tokens, k = 2, depth 9. Both sides run STEPS steps on
# that one batch and report the median seconds of steps 2..STEPS. Parity: the first step's losses (same weights,
# same inputs) must agree to about 1e-4 relative.
# Usage: bench/tune.sh BUILD_DIR [STEPS]   (STEPS default 8; THREADS default 2)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
STEPS=${2:-8}
THREADS=${THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/tune}
mkdir -p "$OUT"
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS   # the same threading for both sides
HARNESS=$BUILD/tune_parts
if [ -f "$BUILD/build.ninja" ]; then
  ninja -C "$BUILD" tune_parts >/dev/null \
    || { echo "bench/tune.sh: could not build tune_parts in $BUILD" >&2; exit 1; }
fi
[ -x "$HARNESS" ] || { echo "bench/tune.sh: $HARNESS is missing: build the tune_parts target first" >&2; exit 1; }
MODEL=$OUT/vit-b-32-random.safetensors
[ -f "$MODEL" ] || /usr/bin/python3 "$HERE/embed_reference.py" model "$MODEL"
INPUTS=$OUT/step-b32-c5-l40.safetensors
/usr/bin/python3 "$HERE/tune_reference.py" make-inputs --model "$MODEL" --out "$INPUTS" \
  --batch 32 --candidates 5 --length 40 --seed 0
ARGS=(step --model "$MODEL" --inputs "$INPUTS" --steps "$STEPS" --threads "$THREADS")
"$HARNESS" "${ARGS[@]}" > "$OUT/dcar.tsv"
/usr/bin/python3 "$HERE/tune_reference.py" "${ARGS[@]}" > "$OUT/python.tsv"

median() {  # median FILE IMPL: the harness's "median<TAB>IMPL<TAB>seconds" line
  awk -F'\t' -v impl="$2" '$1 == "median" && $2 == impl { print $3; found = 1 } END { exit !found }' "$1" \
    || { echo "bench/tune.sh: no median line for $2 in $1" >&2; exit 1; }
}
first_losses() {  # first_losses FILE: loss, loss_con and loss_cate of step 1
  awk -F'\t' '$1 == "step" && $2 == 1 { print $4, $5, $6; found = 1 } END { exit !found }' "$1" \
    || { echo "bench/tune.sh: no step 1 line in $1" >&2; exit 1; }
}
dcar_s=$(median "$OUT/dcar.tsv" dcar)
python_s=$(median "$OUT/python.tsv" python)
dcar_losses=$(first_losses "$OUT/dcar.tsv")
python_losses=$(first_losses "$OUT/python.tsv")
read -r dcar_loss dcar_con dcar_cate <<<"$dcar_losses"
read -r python_loss python_con python_cate <<<"$python_losses"

RESULTS=$OUT/results.tsv
{
  printf 'impl\tseconds_per_step\tratio\n'
  awk -v d="$dcar_s" -v p="$python_s" 'BEGIN {
    printf "dcar\t%.3f\t%.2f\npython\t%.3f\t1.00\n", d, d / p, p }'
  printf '\nfirst_step\tdcar\tpython\tabs_diff\trel_diff\n'
  for part in loss:"$dcar_loss":"$python_loss" loss_con:"$dcar_con":"$python_con" \
              loss_cate:"$dcar_cate":"$python_cate"; do
    IFS=: read -r name d p <<<"$part"
    awk -v n="$name" -v d="$d" -v p="$p" 'BEGIN {
      diff = d - p; if (diff < 0) diff = -diff; scale = p < 0 ? -p : p
      printf "%s\t%.9g\t%.9g\t%.3g\t%.3g\n", n, d, p, diff, (scale > 0 ? diff / scale : diff) }'
  done
} | tee "$RESULTS"
echo "results: $RESULTS (ratio = dcar / python seconds; raw lines in $OUT/dcar.tsv, $OUT/python.tsv)" >&2
# Parity: the first step's total loss (same weights, same inputs) within TOLERANCE relative (default 1e-4).
awk -v d="$dcar_loss" -v p="$python_loss" -v tol="${TOLERANCE:-1e-4}" 'BEGIN {
  diff = d - p; if (diff < 0) diff = -diff; scale = p < 0 ? -p : p
  ok = diff <= tol * scale
  printf "parity\t%s\t(first-step loss, relative tolerance %s)\n", (ok ? "ok" : "FAILED"), tol
  exit !ok }' | tee -a "$RESULTS"
