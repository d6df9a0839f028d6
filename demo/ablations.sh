#!/usr/bin/env bash
# DCAR's ablations and sweeps on the world (docs/RESULTS.md): one dcar-tune run per setting, each in its own
# directory, on the demo's backbone and with the demo's recipe (demo/world.mk), then one table. The reference
# rows (maple, dcar) are the demo's own runs for the same seed; "dcar defaults" repeats dcar beside the
# ablations, so that a different THREADS (float summation order) shows as its own noise. Re-running redoes
# only what is missing.
# Usage: demo/ablations.sh [BUILD] [OUT] [SEED]      (EPOCHS and THREADS pass through to demo/world.mk)
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-demo-out}
SEED=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
WORLD_MK=("$HERE/world.mk" BUILD="$BUILD" OUT="$OUT" SEED="$SEED")
[ -n "${EPOCHS:-}" ] && WORLD_MK+=(EPOCHS="$EPOCHS")
[ -n "${THREADS:-}" ] && WORLD_MK+=(THREADS="$THREADS")

LEXICON="--attribute-lexicon $HERE/world-lexicon.tsv"
# name | dcar-tune options added to --method dcar [| dcar-mine-negatives options]
SETTINGS=(
  "defaults|"
  "dtr-table|--dtr table"
  "blank-noise|--blank noise"
  "swaps-only||--attributes 0"
  "attributes-only||--swaps 0"
  "attribute-swaps-only||--swaps 0 --attributes 0 --attribute-swaps 2 $LEXICON"
  "attribute-swaps-for-attributes||--attributes 0 --attribute-swaps 2 $LEXICON"
  "no-dtr|--dtr none"
  "no-dtr-at-test|--dtr-infer none"
  "no-cate|--lambda 0"
  "no-caa|--caa identity"
  "alpha-0.1|--alpha 0.1"
  "alpha-0.25|--alpha 0.25"
  "alpha-1|--alpha 1"
  "lambda-0.25|--lambda 0.25"
  "lambda-0.5|--lambda 0.5"
  "lambda-2|--lambda 2"
)

echo "== reference runs: maple and dcar, seed $SEED" >&2
make --no-print-directory -f "${WORLD_MK[@]}" METHODS="maple dcar" "$OUT/seed$SEED/results.tsv"
reports=("maple=$OUT/seed$SEED/maple/score.json" "dcar=$OUT/seed$SEED/dcar/score.json")
for setting in "${SETTINGS[@]}"; do
  IFS='|' read -r name options mining <<< "$setting"
  run="$OUT/ablations/seed$SEED/$name"
  echo "== dcar $name (tune: $options; mining: $mining), seed $SEED" >&2
  make --no-print-directory -f "${WORLD_MK[@]}" RUN="$run" METHODS=dcar TUNE_OPTIONS="$options" MINE_OPTIONS="$mining" \
    "$run/dcar/score.json"
  reports+=("dcar $name=$run/dcar/score.json")
done
/usr/bin/python3 "$HERE/results_table.py" "${reports[@]}" | tee "$OUT/ablations/seed$SEED/results.tsv"
