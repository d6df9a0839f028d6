# examples/nightly-index.sh on a tiny CLIP: the first run builds the index, a second run leaves it byte for
# byte, new images are added and a corrupt one is rejected (status 3) and not retried until it changes,
# names with spaces, options from the environment, the lock, and recovery from a failed or killed add.
source "$(dirname "$0")/lib.sh" "$@"
[ -x "$TOOLS/dcar-embed" ] || { echo "nightly: skipped (dcar-embed not built)"; exit 0; }
/usr/bin/python3 -c "import torch, PIL, numpy" 2>/dev/null || { echo "nightly: skipped (no python3-torch/pil)"; exit 0; }
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
NIGHTLY=$SRC/examples/nightly-index.sh

# make_images PATH...: random RGB images under photos/, PNG or JPEG by extension.
make_images() {
  /usr/bin/python3 - "$@" <<'PY'
import os, sys, zlib
import numpy as np
from PIL import Image
for path in sys.argv[1:]:
    rng = np.random.default_rng(zlib.crc32(path.encode()))
    pixels = rng.integers(0, 256, (int(rng.integers(30, 90)), int(rng.integers(30, 90)), 3)).astype(np.uint8)
    os.makedirs(os.path.dirname("photos/" + path) or "photos", exist_ok=True)
    Image.fromarray(pixels).save("photos/" + path)
PY
}
nightly() { bash "$NIGHTLY" -m tiny.safetensors -i idx.dci -s state -l log "$@" photos; }
count() { dcar-index info "$1" | awk -F'\t' '$1 == "count" { print $2 }'; }
log_lines() { wc -l <log; }
# The index holds exactly the images under photos/, under the ids dcar-embed --folder gives them.
check_index_matches_folder() {
  dcar-embed -q -m tiny.safetensors --folder photos -o all.dcs 2>/dev/null || true
  [ "$(count idx.dci)" = "$(dcar-cat -c all.dcs)" ] || fail "index holds $(count idx.dci) vectors, folder $(dcar-cat -c all.dcs) images"
  dcar-query -i idx.dci -k 1 all.dcs | awk -F'\t' '$1 != $3 { print; bad = 1 } END { exit bad }' \
    || fail "an image's nearest vector in the index is not its own id"
}

# First run: builds the index from every image, the one with spaces in its name too.
make_images a/0.png a/1.jpg "b c/two words.png" 3.PNG
expect_status 0 nightly
[ "$(count idx.dci)" = 4 ] || fail "first run: expected 4 vectors, got $(count idx.dci)"
grep -qx "b c/two words.png" state/indexed || fail "name with spaces not indexed: $(cat state/indexed)"
grep -q "4 new images" log || fail "first run did not log its new images: $(cat log)"
check_index_matches_folder

# Second run, configured through the environment: nothing new, the index untouched, one log line.
cp idx.dci idx.before
before=$(log_lines)
expect_status 0 env DCAR_NIGHTLY_MODEL=tiny.safetensors DCAR_NIGHTLY_INDEX=idx.dci DCAR_NIGHTLY_STATE=state \
  DCAR_NIGHTLY_LOG=log DCAR_NIGHTLY_DIRS=photos bash "$NIGHTLY"
cmp -s idx.dci idx.before || fail "a run with nothing new changed the index"
[ "$(log_lines)" = $((before + 1)) ] || fail "a run with nothing new logged more than one line: $(tail -n +$((before + 1)) log)"
tail -1 log | grep -q "nothing new" || fail "no 'nothing new' line: $(tail -1 log)"

# Two new images and a corrupt one: 2 added, the corrupt one rejected and listed, status 3.
make_images new/5.png "new/six 6.jpg"
echo "not an image" >photos/new/broken.jpg
expect_status 3 nightly
[ "$(count idx.dci)" = 6 ] || fail "expected 6 vectors after adding 2, got $(count idx.dci)"
grep -q "3 new images" log || fail "new images not counted: $(cat log)"
grep -q "embedded 2, rejected 1 (listed in state/rejects/" log || fail "rejects not logged: $(cat log)"
grep -q "^new/broken.jpg	" state/rejects/*.tsv || fail "corrupt image not in the rejects file"
grep -q "skipped new/broken.jpg" log || fail "dcar-embed's warning not in the log"
grep -q "4 -> 6 vectors in [0-9]* s" log || fail "index sizes not logged: $(tail -1 log)"

# The unchanged corrupt image is not retried; once replaced by a good one, it is indexed.
cp idx.dci idx.before
expect_status 0 nightly
cmp -s idx.dci idx.before || fail "an unchanged rejected image changed the index"
make_images new/broken.jpg
expect_status 0 nightly
[ "$(count idx.dci)" = 7 ] || fail "a repaired image was not indexed"
check_index_matches_folder

# A run that finds the lock held does nothing and says so.
make_images locked.png
cp idx.dci idx.before
exec 8>>state/lock
flock -n 8 || fail "could not take the lock for the test"
expect_status 0 nightly
exec 8>&-
cmp -s idx.dci idx.before || fail "a run without the lock changed the index"
tail -1 log | grep -q "another run holds state/lock" || fail "blocked run not logged: $(tail -1 log)"
# Two overlapping runs: the image is added once, whichever run gets it.
status_a=0 status_b=0
nightly & run_a=$!
nightly & run_b=$!
wait $run_a || status_a=$?
wait $run_b || status_b=$?
[ "$status_a$status_b" = 00 ] || fail "overlapping runs exited $status_a and $status_b: $(cat log)"
[ "$(count idx.dci)" = 8 ] || fail "overlapping runs: expected 8 vectors, got $(count idx.dci)"

# A fake dcar-index whose add fails, or kills the script before or after the real add: the next run recovers.
mkdir fakebin
ln -s "$TOOLS/dcar-embed" "$TOOLS/dcar-cat" fakebin/
cat >fakebin/dcar-index <<EOF
#!/bin/bash
if [ "\$1" = add ]; then
  case \$FAULT in
    fail) echo "dcar-index: simulated failure" >&2; exit 1 ;;
    crash-before-commit) kill -9 \$PPID; exit 1 ;;
    crash-after-commit) "$TOOLS/dcar-index" "\$@"; kill -9 \$PPID; exit 0 ;;
  esac
fi
exec "$TOOLS/dcar-index" "\$@"
EOF
chmod +x fakebin/dcar-index
faulty_nightly() { FAULT=$1 bash "$NIGHTLY" -m tiny.safetensors -i idx.dci -s state -l log -b fakebin photos; }
# killed_nightly FAULT: the script must die by SIGKILL; bash's "Killed" notice is kept out of the test output.
killed_nightly() {
  local status=0
  (faulty_nightly "$1"; exit $?) 2>/dev/null || status=$?
  [ "$status" = 137 ] || fail "the simulated crash ($1) did not kill the script (status $status): $(tail -3 log)"
}

make_images failed.png
cp idx.dci idx.before; cp state/indexed indexed.before
expect_status 1 faulty_nightly fail
cmp -s idx.dci idx.before || fail "a failed add changed the index"
cmp -s state/indexed indexed.before || fail "a failed add changed the state"
[ ! -e state/pending ] || fail "a failed add left its journal"
grep -q "simulated failure" log || fail "the failing tool's message is not in the log"
expect_status 0 nightly
[ "$(count idx.dci)" = 9 ] || fail "the image of a failed add was not added by the next run"

make_images killed-before.png
cp idx.dci idx.before; cp state/indexed indexed.before
killed_nightly crash-before-commit
cmp -s idx.dci idx.before || fail "a run killed before its add changed the index"
cmp -s state/indexed indexed.before || fail "a run killed before its add changed the state"
expect_status 0 nightly
grep -q "stopped before its add reached idx.dci; its images will be embedded again" log || fail "no recovery line: $(tail -3 log)"
[ "$(count idx.dci)" = 10 ] || fail "the image of a killed add was not added by the next run"

make_images killed-after.png
killed_nightly crash-after-commit
[ "$(count idx.dci)" = 11 ] || fail "the simulated crash came before the add committed"
! grep -qx killed-after.png state/indexed || fail "the killed script marked its image done"
cp idx.dci idx.before
expect_status 0 nightly
grep -q "add of an interrupted run reached idx.dci; marking its 1 images indexed" log || fail "no recovery line: $(tail -3 log)"
grep -qx killed-after.png state/indexed || fail "recovery did not mark the committed image done"
cmp -s idx.dci idx.before || fail "recovery re-added an image the index already held"
[ ! -e state/pending ] || fail "recovery left the journal"
! ls -d state/work.* 2>/dev/null || fail "a run left its work folder"
check_index_matches_folder

# An index that is gone is built again from every image, whatever the state says.
rm idx.dci
expect_status 0 nightly
grep -q "idx.dci is gone" log || fail "a lost index was not reported: $(tail -3 log)"
check_index_matches_folder
# A name that cannot be an id (a line break) is reported and left out; the others are still indexed.
make_images $'line\nbreak.png' after-break.png
expect_status 0 nightly
grep -q "left out 1 images in .* whose names hold a tab or line break" log || fail "unusable name not reported: $(tail -3 log)"
grep -qx after-break.png state/indexed || fail "an unusable name stopped the run"

# Errors: missing tools (status 1, logged), usage errors (status 2), --help.
expect_status 1 nightly -b /nonexistent
tail -1 log | grep -q "error: /nonexistent/dcar-embed: not found" || fail "missing tool not logged: $(tail -1 log)"
expect_status 2 bash "$NIGHTLY" -i idx.dci photos
expect_status 2 bash "$NIGHTLY" -m tiny.safetensors -i idx.dci --bogus photos
expect_status 0 bash "$NIGHTLY" --help
grep -q "^Usage: nightly-index.sh" out || fail "--help lacks a usage line"
echo "nightly: ok"
