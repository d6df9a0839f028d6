# Concurrent writers of one index serialise: 2, then 4 `dcar-index add` runs started together on the same
# index each add their own ids, and the result holds every id exactly once (none lost to a later rename).
# A merge into one of its own shards and a build over the index wait their turn the same way.
source "$(dirname "$0")/lib.sh" "$@"
make_npy base 20000 64 1
for i in 1 2 3 4; do make_npy c$i 3000 64 $((10 + i)); done
count() { dcar-index info "$1" | awk -F'\t' '$1 == "count" { print $2 }'; }
# every_id_once INDEX NAME...: each row of NAME.npy finds itself first in INDEX (ids are unique in an index,
# so with the right count every id is there exactly once).
every_id_once() {
  local index=$1; shift
  for name in "$@"; do
    dcar-query -i "$index" -k 1 $name.npy | awk -F'\t' '$1 != $3 { bad++ } END { exit bad > 0 }' \
      || fail "ids of $name are missing from $index"
  done
}
# concurrent_adds N: N adds started together on a fresh copy of the base index.
concurrent_adds() {
  local n=$1 pids="" i
  dcar-index build -q -o g.dci base.npy
  for i in $(seq $n); do dcar-index add -q g.dci c$i.npy 2>err$i & pids="$pids $!"; done
  for pid in $pids; do wait $pid || fail "a concurrent add failed: $(cat err*)"; done
  [ "$(count g.dci)" = $((20000 + 3000 * n)) ] || fail "$n concurrent adds: the index holds $(count g.dci) vectors, expected $((20000 + 3000 * n))"
  every_id_once g.dci base $(for i in $(seq $n); do echo c$i; done)
  ls -A | grep -q '\.tmp\.' && fail "temporaries left behind"
  true
}
concurrent_adds 2
concurrent_adds 4
# The lock file stays, empty, for the next writer.
[ -f g.dci.lock ] && [ ! -s g.dci.lock ] || fail "no empty lock file beside the index"

# The lock is beside the file a symbolic link names, so writers through the link and the file serialise.
dcar-index build -q -o g.dci base.npy
ln -s g.dci link.dci
dcar-index add -q link.dci c1.npy & a=$!
dcar-index add -q g.dci c2.npy & b=$!
wait $a || fail "add through the link failed"
wait $b || fail "add to the file failed"
[ -L link.dci ] || fail "the link was replaced"
[ "$(count g.dci)" = 26000 ] || fail "adds through a link and the file: $(count g.dci) vectors"

# A merge whose output is its first shard waits for a concurrent add to that shard and keeps its rows.
dcar-index build -q -o g.dci base.npy
dcar-index build -q -o s.dci c2.npy
dcar-index add -q g.dci c1.npy & a=$!
dcar-index merge -q -o g.dci g.dci s.dci & b=$!
wait $a || fail "add beside a merge failed"
wait $b || fail "merge into its own shard failed"
[ "$(count g.dci)" = 26000 ] || fail "add and merge into one index: $(count g.dci) vectors, expected 26000"
every_id_once g.dci base c1 c2

# A writer waits for the lock rather than failing: hold it from the shell, then release it.
dcar-index build -q -o g.dci base.npy
exec 8>g.dci.lock
flock 8
dcar-index add -q g.dci c1.npy 8>&- & a=$!  # fd 8 is not inherited: it would share the shell's lock
sleep 1
kill -0 $a 2>/dev/null || fail "add did not wait for the lock"
[ "$(count g.dci)" = 20000 ] || fail "add wrote while the lock was held"
exec 8>&-
wait $a || fail "add failed after the lock was released"
[ "$(count g.dci)" = 23000 ] || fail "add after the lock: $(count g.dci) vectors"
echo "concurrent: ok"
