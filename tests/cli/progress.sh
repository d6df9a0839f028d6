# --progress for batch jobs: with stderr in a file, `always` or a number of seconds writes plain progress lines
# at that interval (none with `auto`, `never` or --quiet), each naming the tool, and never a carriage return;
# a bad value is a usage error.
source "$(dirname "$0")/lib.sh" "$@"
world() { dcar-world --size 64 --families 2 --base-per-family 4 --novel-per-family 4 --pretrain-per-class 60 \
  --pretrain-per-novel 0 --train-per-class 4 --test-per-class 2 --threads 1 "$@"; }
SECONDS=0
world --progress 1 w1 2> lines.err
took=$SECONDS
grep -q $'\r' lines.err && fail "a carriage return in a log file"
lines=$(grep -c '^dcar-world: images: [0-9]*/[0-9]* ([0-9]*/s, ETA [0-9]*s)$' lines.err || true)
# One line a second, give or take the first and the last: at least one whenever the run took 2 s or more.
[ "$took" -lt 2 ] || [ "$lines" -ge 1 ] || fail "no progress line in a ${took}s run: $(cat lines.err)"
[ "$lines" -le $((took + 1)) ] || fail "$lines progress lines in ${took}s at 1 a second"
for when in auto never; do
  world --progress $when --force w1 2> $when.err
  grep -q 'images: ' $when.err && fail "--progress $when wrote progress to a file: $(cat $when.err)"
done
world -q --progress 1 --force w1 2> quiet.err
[ ! -s quiet.err ] || fail "--quiet wrote: $(cat quiet.err)"
expect_status 2 world --progress sometimes w2
grep -q "^dcar-world: --progress is auto, always, never or a number of seconds (1 to 86400), not 'sometimes'" err ||
  fail "bad --progress: $(cat err)"
echo "progress: $lines lines in ${took}s"
