# Rows and inputs that used to pass silently or exhaust a limit: a NaN or infinite vector is refused by every
# reader (index build, query, cat), naming the input, the record and its id; many inputs are read one at a
# time, so 300 parts fit an open-file limit of 64, in dcar-cat, dcar-index build and dcar-query.
source "$(dirname "$0")/lib.sh" "$@"
make_npy good 50 8 1
/usr/bin/python3 - <<'PY'
import numpy as np
x = np.load("good.npy")
for name, value in (("nan", np.nan), ("inf", np.inf)):
    y = x.copy()
    y[7, 3] = value
    np.save(f"{name}.npy", y)
    open(f"{name}.ids", "w").write(open("good.ids").read())
PY
for bad in nan inf; do
  expect_status 1 dcar-index build -f Flat -o $bad.dci $bad.npy
  expect_err_line "dcar-index build: $bad.npy: record 8 ('good7'): not a finite vector (NaN or infinity)"
  [ ! -e $bad.dci ] || fail "an index was written from $bad rows"
  expect_status 1 dcar-cat --format dcs -o $bad.dcs $bad.npy
  grep -q "record 8 ('good7'): not a finite vector" err || fail "dcar-cat: $(cat err)"
done
dcar-index build -f Flat --quiet -o good.dci good.npy
expect_status 1 dcar-query -i good.dci -k 3 nan.npy
grep -q "nan.npy: record 8 ('good7'): not a finite vector" err || fail "dcar-query: $(cat err)"
# A NaN inside a zstd stream, after a good part: the second input is named.
dcar-cat --format dcs -o good.dcs good.npy
/usr/bin/python3 -c "
import numpy as np
np.save('nan2.npy', np.full((2, 8), np.nan, np.float32)); open('nan2.ids', 'w').write('x\ny\n')"
expect_status 1 dcar-index build -f Flat -o two.dci good.dcs nan2.npy
expect_err_line "nan2.npy: record 1 ('x'): not a finite vector"

# make_parts DIR N ID_PREFIX: N .npy parts of 2 rows each, DIR/pNNNN.npy with ids ID_PREFIX<n>a and b.
make_parts() {
  mkdir "$1"
  /usr/bin/python3 - "$@" <<'PY'
import sys
import numpy as np
folder, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(n)
for p in range(n):
    np.save(f"{folder}/p{p:04d}.npy", rng.standard_normal((2, 8)).astype(np.float32))
    open(f"{folder}/p{p:04d}.ids", "w").write(f"{prefix}{p}a\n{prefix}{p}b\n")
PY
}
# 300 inputs under an open-file limit of 64: read one after another.
make_parts parts 300 p
(ulimit -n 64; dcar-cat -c parts/*.npy) > count.txt || fail "dcar-cat over 300 inputs under ulimit -n 64"
[ "$(cat count.txt)" = 600 ] || fail "count over 300 inputs: $(cat count.txt)"
(ulimit -n 64; dcar-index build -f Flat --quiet -o many.dci parts/*.npy) || fail "dcar-index build over 300 inputs under ulimit -n 64"
[ "$(dcar-index info many.dci | grep -c .)" -gt 0 ] || fail "info"
(ulimit -n 64; dcar-query -i many.dci -k 1 --quiet parts/*.npy) > hits.tsv || fail "dcar-query over 300 inputs under ulimit -n 64"
[ "$(wc -l < hits.tsv)" = 600 ] || fail "one hit per query expected: $(wc -l < hits.tsv)"
# A cluster run's 5,000 part files under an open-file limit of 256: concatenated (.dcs parts, as dcar-embed
# --resume writes them) and indexed (.npy parts with ids).
make_parts many 5000 m
dcar-cat -q -F dcs -o one.dcs parts/p0000.npy
for p in $(seq -w 0 4999); do cp one.dcs many/d$p.dcs; done
(ulimit -n 256; dcar-cat -c many/d*.dcs) > count.txt || fail "dcar-cat over 5,000 parts under ulimit -n 256"
[ "$(cat count.txt)" = 10000 ] || fail "count over 5,000 parts: $(cat count.txt)"
(ulimit -n 256; cat many/d*.dcs | dcar-cat -c) > count.txt || fail "a concatenation of 5,000 parts"
[ "$(cat count.txt)" = 10000 ] || fail "count of 5,000 concatenated parts: $(cat count.txt)"
(ulimit -n 256; dcar-index build -f Flat --quiet -o many.dci many/p*.npy) || fail "dcar-index build over 5,000 parts under ulimit -n 256"
dcar-index info many.dci | grep -q "^count	10000$" || fail "index over 5,000 parts: $(dcar-index info many.dci)"
# Ids that are not UTF-8 (any file system allows such names): JSON output replaces the bad bytes with U+FFFD
# instead of failing; the stream keeps the bytes.
/usr/bin/python3 - <<'PY'
import numpy as np
np.save("u.npy", np.ones((2, 4), np.float32))
open("u.ids", "wb").write(b"ok\nbad\xffid\n")
PY
expect_status 0 dcar-cat -F jsonl u.npy
grep -qF "\"id\":\"bad$(printf '\357\277\275')id\"" out || fail "non-UTF-8 id in JSON lines: $(cat out)"
dcar-cat --format dcs -o u.dcs u.npy
[ "$(dcar-cat --ids-only u.dcs | sed -n 2p | cut -f1 | od -An -tx1 | tr -d ' \n')" = "626164ff69640a" ] || fail "the stream changed the id's bytes"
dcar-index build -f Flat --quiet -o "u$(printf '\xff').dci" u.dcs || fail "an index named with a non-UTF-8 byte"
# Merging Flat indexes of other dimensions names the dimension, not the training.
make_npy d12 5 12 3
dcar-index build -f Flat --quiet -o d8.dci good.npy
dcar-index build -f Flat --quiet -o d12.dci d12.npy
expect_status 1 dcar-index merge -o m.dci d8.dci d12.dci
grep -q "d12.dci: does not match d8.dci: dimension 12 where 8 was expected" err || fail "merge of other dims: $(cat err)"
echo "hostile_rows: ok"
