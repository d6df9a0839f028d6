# Atomic writes: `dcar-index add` killed with SIGKILL at many moments leaves the previous index intact and
# readable (or the complete new one), never a partial file; a re-run then completes the work (resume).
source "$(dirname "$0")/lib.sh" "$@"
make_npy base 20000 64 1
make_npy extra 150000 64 2
dcar-index build -q -f Flat -o idx.dci base.npy
before=$(dcar-index info idx.dci | grep '^count')
[ "$before" = "count	20000" ] || fail "initial count: $before"
for delay in 0.05 0.1 0.15 0.2 0.3 0.45 0.7; do
  dcar-index add -q idx.dci extra.npy & pid=$!
  sleep $delay
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  count=$(dcar-index info idx.dci | grep '^count' | cut -f2)
  [ "$count" = 20000 ] || [ "$count" = 170000 ] || fail "after kill at ${delay}s the index holds $count"
  dcar-query -i idx.dci -k 1 base.npy | head -1 | grep -q "^base0	1	base0	" || fail "index unusable after kill at ${delay}s"
  [ "$count" = 170000 ] && break
done
# Re-running add finishes the job; ids already present are reported, not duplicated (exit 3 = partial).
set +e; dcar-index add idx.dci extra.npy 2>err; st=$?; set -e
count=$(dcar-index info idx.dci | grep '^count' | cut -f2)
[ "$count" = 170000 ] || fail "after resume: $count"
if [ "$st" = 3 ]; then grep -q "skipped 150000 duplicate ids" err || fail "duplicates not reported: $(cat err)"; fi
ls -A | grep -q '\.tmp\.' && [ "$(ls -A | grep '\.tmp\.' | wc -l)" -gt 6 ] && fail "temporaries pile up"
echo "atomic: ok"
