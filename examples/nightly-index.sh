#!/bin/bash
# nightly-index.sh - embed the images that are new in some folders and add them to a dcar index; for cron.
#
# Usage: nightly-index.sh -m MODEL -i INDEX [options] DIR...
#
# Each run finds the images below DIR (as dcar-embed --folder finds them) that no earlier run indexed,
# embeds only those with dcar-embed, and adds them to INDEX with dcar-index add, which replaces the file
# atomically. When INDEX does not exist it is built from the new images (all of them again, when INDEX was
# deleted). Running it again with no new images changes nothing, not even the index's bytes. Ids are paths
# relative to DIR, the ids that `dcar-embed --folder DIR` gives, whatever the current directory. Images that
# several DIRs hold under the same relative path are indexed once, from the first DIR.
#
# Options (each has an environment variable; an option wins over its variable):
#   -m, --model FILE          DCAR_NIGHTLY_MODEL     CLIP weights for dcar-embed (required)
#   -i, --index FILE          DCAR_NIGHTLY_INDEX     the index to extend, or to create (required)
#   -s, --state DIR           DCAR_NIGHTLY_STATE     state directory (default: INDEX.nightly)
#   -l, --log FILE            DCAR_NIGHTLY_LOG       append the log here (default: standard error)
#   -f, --factory STRING      DCAR_NIGHTLY_FACTORY   FAISS factory for a new index (default: Flat; an IVF
#                                                    type is trained on the first run's images only)
#   -b, --bin-dir DIR         DCAR_NIGHTLY_BIN_DIR   where dcar-embed, dcar-index, dcar-cat are (default: PATH)
#   -t, --threads N           DCAR_NIGHTLY_THREADS   threads for dcar-embed and dcar-index (default: theirs)
#   -e, --embed-options STR   DCAR_NIGHTLY_EMBED_OPTIONS  more dcar-embed options, split at white space
#                                                    (for example "--device cuda --batch 64")
#   -h, --help                print this and exit
#   DIR...                    DCAR_NIGHTLY_DIRS      folders to watch (the variable: separated by colons)
#
# State directory:
#   lock           flock(1) lock: a run that finds it held logs one line and exits 0
#   indexed        ids this script has added to INDEX, one per line
#   rejected       id TAB size:mtime of images dcar-embed could not read; retried only once they change
#   pending        journal of an add in progress: INDEX's vector count before it, then the ids it adds
#   rejects/*.tsv  dcar-embed's --rejects file (id TAB path TAB reason) of each run that skipped images
#
# Crash safety: the index is replaced by dcar-index itself, atomically; the state files are written to a
# temporary file and renamed. `pending` is written before the add and folded into `indexed` after it, so
# `indexed` never names an image that the index lacks. A run that finds `pending` left by a killed run
# compares INDEX's count with the one recorded: changed means the add was committed (its ids are marked
# done), unchanged means it was not (its images are embedded again).
#
# Log: timestamped lines. A run with nothing to do writes one line.
# Exit status: 0 done, nothing to do, or another run holds the lock; 1 error (index and state unchanged,
# or recoverable by the next run); 2 usage error; 3 done, but some images were rejected (see the log).
#
# Example crontab line:
#   30 2 * * *  /usr/local/bin/nightly-index.sh -m /srv/ViT-B-32.pt -i /srv/photos.dci -l /var/log/nightly-index.log /srv/photos
set -euo pipefail
export LC_ALL=C  # byte order for sort and awk, the order dcar-embed --folder uses

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
usage_error() { echo "nightly-index.sh: $*" >&2; echo "Try 'nightly-index.sh --help'." >&2; exit 2; }

model=${DCAR_NIGHTLY_MODEL:-}
index=${DCAR_NIGHTLY_INDEX:-}
state=${DCAR_NIGHTLY_STATE:-}
log_file=${DCAR_NIGHTLY_LOG:-}
factory=${DCAR_NIGHTLY_FACTORY:-Flat}
bin_dir=${DCAR_NIGHTLY_BIN_DIR:-}
threads=${DCAR_NIGHTLY_THREADS:-}
embed_options=${DCAR_NIGHTLY_EMBED_OPTIONS:-}
dirs=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -m|--model|-i|--index|-s|--state|-l|--log|-f|--factory|-b|--bin-dir|-t|--threads|-e|--embed-options)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case $1 in
        -m|--model) model=$2 ;;          -i|--index) index=$2 ;;
        -s|--state) state=$2 ;;          -l|--log) log_file=$2 ;;
        -f|--factory) factory=$2 ;;      -b|--bin-dir) bin_dir=$2 ;;
        -t|--threads) threads=$2 ;;      -e|--embed-options) embed_options=$2 ;;
      esac
      shift 2 ;;
    --) shift; dirs+=("$@"); break ;;
    -*) usage_error "unknown option $1" ;;
    *) dirs+=("$1"); shift ;;
  esac
done
if [ ${#dirs[@]} -eq 0 ] && [ -n "${DCAR_NIGHTLY_DIRS:-}" ]; then IFS=: read -ra dirs <<<"$DCAR_NIGHTLY_DIRS"; fi
[ -n "$model" ] || usage_error "no model (-m or DCAR_NIGHTLY_MODEL)"
[ -n "$index" ] || usage_error "no index (-i or DCAR_NIGHTLY_INDEX)"
[ ${#dirs[@]} -gt 0 ] || usage_error "no image folder (DIR... or DCAR_NIGHTLY_DIRS)"
[ -z "$threads" ] || [[ $threads =~ ^[0-9]+$ ]] || usage_error "--threads needs a number, not '$threads'"
state=${state:-$index.nightly}
read -ra embed_extra <<<"$embed_options"
thread_option=(); [ -z "$threads" ] || thread_option=(--threads "$threads")
embed=${bin_dir:+$bin_dir/}dcar-embed
index_tool=${bin_dir:+$bin_dir/}dcar-index
cat_tool=${bin_dir:+$bin_dir/}dcar-cat

if [ -n "$log_file" ]; then exec 2>>"$log_file"; fi
log() { printf '%s nightly-index[%d]: %s\n' "$(date '+%F %T')" "$$" "$*" >&2; }
die() { log "error: $*"; logged=1; exit 1; }
# Every failure, including one that set -e catches, is status 1 and leaves a line in the log.
logged=0 work=
on_exit() {
  local status=$1
  [ -z "$work" ] || rm -rf "$work"
  if [ "$status" != 0 ] && [ "$status" != 3 ]; then
    [ "$logged" = 1 ] || log "error: stopped by a failed command (status $status)"
    exit 1
  fi
}
trap 'on_exit $?' EXIT

for tool in "$embed" "$index_tool" "$cat_tool"; do
  command -v "$tool" >/dev/null || die "$tool: not found"
done
for i in "${!dirs[@]}"; do
  [ -d "${dirs[i]}" ] || die "${dirs[i]}: not a directory"
  dirs[i]=$(cd -- "${dirs[i]}" && pwd)
done
mkdir -p "$state/rejects" || die "$state: cannot create the state directory"

# The lock fd is inherited by the dcar tools on purpose: a run killed during dcar-index add keeps the lock
# until that add has finished, so no other run can start a second add beside it.
exec 9>>"$state/lock"
flock -n 9 || { log "another run holds $state/lock; nothing done"; exit 0; }

# Only one run gets here at a time, so anything temporary left in the state directory is from a killed run.
rm -rf "$state"/work.* "$state"/*.tmp.* "$state"/rejects/*.tmp.*
work=$state/work.$$
mkdir "$work"
touch "$state/indexed" "$state/rejected"

# write_file TARGET CMD...: the output of CMD becomes TARGET atomically (temp file, fsync, rename).
write_file() {
  local target=$1 tmp="$1.tmp.$$"; shift
  "$@" >"$tmp" && sync -- "$tmp" && mv -f -- "$tmp" "$target"
}
# run_logged CMD...: runs CMD with its standard error copied into the log, indented; returns CMD's status.
run_logged() {
  local status=0 line
  "$@" 2>"$work/stderr" || status=$?
  while IFS= read -r line; do log "  $line"; done <"$work/stderr"
  return "$status"
}
index_count() {
  if [ ! -e "$index" ]; then echo 0; return; fi
  "$index_tool" info "$index" | awk -F'\t' '$1 == "count" { print $2 }'
}
# The ids of a pending add are done once the index holds them: fold them into `indexed`, then drop the journal.
commit_pending() {
  tail -n +2 "$state/pending" >"$work/pending.ids"
  write_file "$state/indexed" sort -u "$state/indexed" "$work/pending.ids"
  rm -f "$state/pending"
}

if [ -e "$state/pending" ]; then
  count_now=$(index_count) || die "$index: cannot read"
  if [ "$count_now" != "$(head -n 1 "$state/pending")" ]; then
    log "recovering: the add of an interrupted run reached $index; marking its $(($(wc -l <"$state/pending") - 1)) images indexed"
    commit_pending
  else
    log "recovering: an interrupted run stopped before its add reached $index; its images will be embedded again"
    rm -f "$state/pending"
  fi
fi
if [ ! -e "$index" ] && [ -s "$state/indexed" ]; then
  log "warning: $index is gone; its images will be indexed again in a new one"
  write_file "$state/indexed" true
fi

# Find each folder's new images: not indexed, not taken from an earlier folder, and not rejected before
# unless changed since. Names with a tab or line break cannot be ids; they are counted and left out.
: >"$work/taken"
: >"$work/found"
new_total=0
for i in "${!dirs[@]}"; do
  find "${dirs[i]}" -mindepth 1 -xtype f -regextype posix-extended -iregex '.*\.(jpe?g|png|webp|tiff?|bmp|gif)' \
    \( -path $'*[\t\n\r]*' -fprint0 "$work/unnamable.$i" -o -printf '%s:%T@\t%P\n' \) >"$work/found.$i" 2>"$work/stderr" \
    || { while IFS= read -r line; do log "  $line"; done <"$work/stderr"; }  # unreadable folders are passed over
  awk -F'\t' '
    part == "done"     { done[$0]; next }
    part == "rejected" { rejected[$1] = $2; next }
    !($2 in done) && !(($2 in rejected) && rejected[$2] == $1) { print $2 }
  ' part=done "$state/indexed" "$work/taken" part=rejected "$state/rejected" part=found "$work/found.$i" \
    | sort -u >"$work/new.$i"
  cat "$work/new.$i" >>"$work/taken"
  cat "$work/found.$i" >>"$work/found"
  new_total=$((new_total + $(wc -l <"$work/new.$i")))
  unnamable=$(tr -cd '\0' <"$work/unnamable.$i" 2>/dev/null | wc -c)
  [ "$unnamable" = 0 ] || log "warning: left out $unnamable images in ${dirs[i]} whose names hold a tab or line break"
done
count_before=$(index_count) || die "$index: cannot read"
if [ "$new_total" = 0 ]; then
  log "nothing new in ${dirs[*]}; $index holds $count_before vectors"
  exit 0
fi
log "$new_total new images in ${dirs[*]}; $index holds $count_before vectors"

# Embed each folder's new images; a bad image is skipped and reported (dcar-embed status 3), never fatal.
batches=()
: >"$work/rejects"
for i in "${!dirs[@]}"; do
  [ -s "$work/new.$i" ] || continue
  status=0
  run_logged "$embed" -q -m "$model" "${thread_option[@]}" "${embed_extra[@]}" --image-root "${dirs[i]}" \
    --rejects "$work/rejects.$i" -o "$work/batch.$i.dcs" "$work/new.$i" || status=$?
  [ "$status" = 0 ] || [ "$status" = 3 ] || die "dcar-embed failed on ${dirs[i]} (status $status)"
  cat "$work/rejects.$i" >>"$work/rejects"
  batches+=("$work/batch.$i.dcs")
done
"$cat_tool" --ids-only "${batches[@]}" | cut -f1 >"$work/embedded"
embedded=$(wc -l <"$work/embedded")
rejected=$(wc -l <"$work/rejects")
if [ "$rejected" = 0 ]; then
  log "embedded $embedded, rejected 0"
else
  rejects_file=$state/rejects/$(date '+%Y%m%d-%H%M%S')-$$.tsv
  write_file "$rejects_file" cat "$work/rejects"
  log "embedded $embedded, rejected $rejected (listed in $rejects_file)"
fi

# Journal, add, then state: a crash before the add leaves `pending` unmatched by the index (discarded next
# run); a crash after it leaves `pending` matched (committed next run).
if [ "$embedded" -gt 0 ]; then
  write_file "$state/pending" cat <(echo "$count_before") "$work/embedded"
  status=0
  if [ -e "$index" ]; then
    run_logged "$index_tool" add -q "${thread_option[@]}" "$index" "${batches[@]}" || status=$?
  else
    run_logged "$index_tool" build -q "${thread_option[@]}" -f "$factory" -o "$index" "${batches[@]}" || status=$?
  fi
  # Status 3: some ids were in the index already (added by other means); they stay as they are.
  if [ "$status" != 0 ] && [ "$status" != 3 ]; then
    rm -f "$state/pending"  # dcar-index leaves the index as it was when it fails
    die "dcar-index failed on $index (status $status); it is unchanged"
  fi
  commit_pending
fi

# Remember the rejected images with their size and mtime (of the first folder that has them). Old entries
# stay unless retried this run or gone from the folders.
cut -f1 "$work/rejects" >"$work/rejected.ids"
write_file "$state/rejected" awk -F'\t' '
  part == "retried" { retried[$0]; next }
  part == "now"     { now[$0]; next }
  part == "found"   { exists[$2]; if ($2 in now) { print $2 "\t" $1; delete now[$2] }; next }
  !($1 in retried) && ($1 in exists)
' part=retried "$work"/new.* part=now "$work/rejected.ids" part=found "$work/found" part=old "$state/rejected"

count_after=$(index_count) || die "$index: cannot read"
log "$index: $count_before -> $count_after vectors in $SECONDS s"
[ "$rejected" = 0 ] || exit 3
