#!/usr/bin/env bash
# Submits the whole chain, each step after the last succeeded (--dependency=afterok):
#   embed  (array of $TASKS)  dcar-embed --shard auto --resume   → $WORK/parts/
#   train  (one job)          dcar-index build --train-only      → $WORK/template.index
#   add    (array of $TASKS)  dcar-index add --shard auto         → $WORK/shards/
#   merge  (one job)          dcar-index merge                    → $WORK/index, $WORK/summary.json
# Usage: MODEL=clip.pt IMAGES=photos/ WORK=run/ [TASKS=4] [FACTORY=IVF1024,Flat] [TRAIN_SAMPLE=0]
#        [PART_SIZE=10000] [EMBED_OPTIONS="--dtype bf16"] [MERGE_OPTIONS=--ondisk] examples/slurm/submit.sh [SBATCH OPTION...]
#        WDS='/data/shards/*.tar' instead of IMAGES reads webdataset tar shards (a pattern the tasks expand;
#        tars are split among the tasks, one part per tar). MERGE_OPTIONS=--ondisk keeps the merged index's
#        lists in a data file beside it, for indexes bigger than memory.
# The sbatch options (--partition, --time, --cpus-per-task, ...) go to every job. Logs: $WORK/logs/.
# Prints the four job ids. dcar's tools must be on the PATH of the compute nodes, and $WORK on a file
# system every node sees.
set -euo pipefail
: "${MODEL:?set MODEL}" "${WORK:?set WORK}"
[ -n "${IMAGES:-}${WDS:-}" ] || { echo "submit.sh: set IMAGES (a folder) or WDS (webdataset tar shards)" >&2; exit 2; }
export MODEL WORK IMAGES=${IMAGES:-} WDS=${WDS:-} MERGE_OPTIONS=${MERGE_OPTIONS:-}
export TASKS=${TASKS:-4} FACTORY=${FACTORY:-IVF1024,Flat} TRAIN_SAMPLE=${TRAIN_SAMPLE:-0}
export PART_SIZE=${PART_SIZE:-10000} EMBED_OPTIONS=${EMBED_OPTIONS:-}
[ "$TASKS" -ge 2 ] 2>/dev/null || { echo "submit.sh: TASKS must be a number of at least 2 (merge joins shards)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"/logs "$WORK"/parts "$WORK"/rejects "$WORK"/stats "$WORK"/shards
submit() {  # submit [OPTIONS...] SCRIPT: the job id
  local id
  id=$(sbatch --parsable --export=ALL "$@")
  echo "${id%%;*}"
}
array=(--array="0-$((TASKS - 1))" --output="$WORK/logs/%x-%A_%a.log")
single=(--output="$WORK/logs/%x-%j.log")
embed=$(submit "${array[@]}" "$@" "$here/embed.sbatch")
train=$(submit "${single[@]}" --dependency="afterok:$embed" "$@" "$here/train.sbatch")
add=$(submit "${array[@]}" --dependency="afterok:$train" "$@" "$here/add.sbatch")
merge=$(submit "${single[@]}" --dependency="afterok:$add" "$@" "$here/merge.sbatch")
echo "embed $embed train $train add $add merge $merge"
