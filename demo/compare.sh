#!/usr/bin/env bash
# The declared comparison (docs/RESULTS.md, "The comparison, declared"): zero-shot, CoOp, MaPLe and DCAR on one
# world and backbone, each prompt method at the learning rate it wins on held-out data, over SEEDS seeds with
# the same shots for every method in a seed, then DCAR's ablation arms over ARM_SEEDS seeds, and the tables.
# Every run is a Make target (demo/world.mk, demo/pipeline.mk) in its own directory under OUT/compare, so a
# stopped run picks up where it left off: run the same command again.
#   1. learning rate: seed 1, 10 % of the pool held out (VAL_FRACTION), one run per method and rate in LRS;
#      demo/pick_lr.py keeps each method's best last-epoch validation R@1 → OUT/compare/lr.tsv;
#   2. the methods: seeds 1..SEEDS, each with all its shots (nothing held out) → OUT/compare/seedS/;
#   3. the arms: dcar at its rate with one change each, seeds 1..ARM_SEEDS → OUT/compare/arms/NAME/seedS/;
#   4. the filler dose-response: 0, 2 and 4 filler sentences per caption, same images and backbone;
#   5. OUT/compare/methods.tsv (mean ± std), paired.tsv (DCAR − CoOp, 95 % interval), arms.tsv, filler.tsv.
# Usage: demo/compare.sh [BUILD] [OUT]     (EPOCHS, THREADS, WORLD_SEED pass through to demo/world.mk)
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-demo-out}
SEEDS=${SEEDS:-5}
ARM_SEEDS=${ARM_SEEDS:-3}
LRS=${LRS:-0.002 0.0035 0.01}
METHODS=(coop maple dcar)
HERE=$(cd "$(dirname "$0")" && pwd)
C="$OUT/compare"
WORLD_MK=(--no-print-directory -f "$HERE/world.mk" BUILD="$BUILD" OUT="$OUT")
for v in EPOCHS THREADS WORLD_SEED; do [ -n "${!v:-}" ] && WORLD_MK+=("$v=${!v}"); done
LEXICON="--attribute-lexicon $HERE/world-lexicon.tsv"
# name | dcar-tune options added to dcar's | dcar-mine-negatives options
ARMS=(
  "dtr-none|--dtr none|"
  "dtr-pair|--dtr pair|"
  "dtr-table|--dtr table|"
  "lambda-0|--lambda 0|"
  "caa-off|--caa identity|"
  "swaps-only||--attributes 0"
  "attributes-only||--swaps 0"
  "attribute-swaps-only||--swaps 0 --attributes 0 --attribute-swaps 2 $LEXICON"
  "swaps-within-family||--swaps-within-category"
)
# The filler dose-response: the same world and backbone with 0, 2 and 4 filler sentences per train and test
# caption (dcar-world --filler; images do not change), zero-shot, CoOp and DCAR over ARM_SEEDS seeds.
FILLERS=${FILLERS:-0 2 4}

echo "== 1. learning rates (seed 1, 10 % of the pool held out)" >&2
picks=()
for m in "${METHODS[@]}"; do
  for lr in $LRS; do
    run="$C/lr/$m-$lr"
    make "${WORLD_MK[@]}" SEED=1 RUN="$run" METHODS="$m" VAL_FRACTION=0.1 TUNE_OPTIONS="--lr $lr" "$run/$m/ckpt/checkpoint.json"
    picks+=("$m:$lr=$run/$m/ckpt/checkpoint.json")
  done
done
/usr/bin/python3 "$HERE/pick_lr.py" "${picks[@]}" | tee "$C/lr.tsv" >&2
lr_of() { awk -F'\t' -v m="$1" '$1 == m { print $2 }' "$C/lr.tsv"; }

echo "== 2. the methods, seeds 1..$SEEDS" >&2
reports=()
for seed in $(seq "$SEEDS"); do
  run="$C/seed$seed"
  make "${WORLD_MK[@]}" SEED="$seed" RUN="$run" METHODS=zeroshot "$run/zeroshot/score.json"
  reports+=("zeroshot=$run/zeroshot/score.json")
  for m in "${METHODS[@]}"; do
    make "${WORLD_MK[@]}" SEED="$seed" RUN="$run" METHODS="$m" TUNE_OPTIONS="--lr $(lr_of "$m")" "$run/$m/score.json"
    reports+=("$m=$run/$m/score.json")
  done
done

echo "== 3. dcar's arms, seeds 1..$ARM_SEEDS" >&2
arm_reports=()
for arm in "${ARMS[@]}"; do
  IFS='|' read -r name options mining <<< "$arm"
  for seed in $(seq "$ARM_SEEDS"); do
    run="$C/arms/$name/seed$seed"
    make "${WORLD_MK[@]}" SEED="$seed" RUN="$run" METHODS=dcar TUNE_OPTIONS="--lr $(lr_of dcar) $options" \
      MINE_OPTIONS="$mining" "$run/dcar/score.json"
    arm_reports+=("dcar $name=$run/dcar/score.json")
  done
done

echo "== 4. filler dose-response: $FILLERS sentences, seeds 1..$ARM_SEEDS" >&2
backbone=$(make "${WORLD_MK[@]}" -s --eval 'print-backbone: ; @echo $(M)' print-backbone)
filler_reports=()
for filler in $FILLERS; do
  for seed in $(seq "$ARM_SEEDS"); do
    for m in zeroshot coop dcar; do
      run="$C/filler$filler/seed$seed"
      lr=$([ $m = zeroshot ] || echo "--lr $(lr_of $m)")
      make "${WORLD_MK[@]}" OUT="$C/filler$filler" M="$backbone" WORLD_OPTIONS="--filler $filler" SEED="$seed" \
        RUN="$run" METHODS="$m" TUNE_OPTIONS="$lr" "$run/$m/score.json"
      filler_reports+=("$m, filler $filler=$run/$m/score.json")
    done
  done
done

/usr/bin/python3 "$HERE/results_table.py" --mean "${reports[@]}" | tee "$C/methods.tsv"
seeds=$(seq -s, "$SEEDS")
/usr/bin/python3 "$HERE/paired.py" --seeds "$seeds" "$C/seed{seed}/dcar/score.json" "$C/seed{seed}/coop/score.json" |
  tee "$C/paired.tsv"
/usr/bin/python3 "$HERE/results_table.py" --mean "${arm_reports[@]}" | tee "$C/arms.tsv"
/usr/bin/python3 "$HERE/results_table.py" --mean "${filler_reports[@]}" | tee "$C/filler.tsv"
