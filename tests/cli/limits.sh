# Numeric options out of range are usage errors (status 2) naming the option, found before any work; -k larger
# than the index or gallery is capped at its size instead of allocating for k results per query.
source "$(dirname "$0")/lib.sh" "$@"
make_npy g 1000 32 1
make_npy q 20 32 2
dcar-index build -q -o g.dci g.npy
dcar-index build -q -f IVF4,Flat -o ivf.dci g.npy

# bad OPTION CMD...: exit 2, and the first stderr line names OPTION.
bad() {
  local option=$1; shift
  expect_status 2 "$@"
  head -1 "$T/err" | grep -qF -- "$option" || fail "'$*': stderr '$(head -1 "$T/err")' does not name $option"
}
bad -k dcar-query -i g.dci -k 0 q.npy
bad -k dcar-query -i g.dci -k -1 q.npy
bad -k dcar-query -g g.npy -k -1 q.npy
bad --nprobe dcar-query -i ivf.dci --nprobe -1 q.npy
bad --ef dcar-query -i g.dci --ef -2 q.npy
bad --chunk dcar-query -g g.npy --chunk 0 q.npy
bad --chunk dcar-query -g g.npy --chunk -1 q.npy
bad --threads dcar-query -g g.npy --threads -1 q.npy
bad --threads dcar-query -g g.npy --threads 100000 q.npy
bad --train-sample dcar-index build -f IVF4,Flat --train-sample -1 -o h.dci g.npy
bad --threads dcar-index build --threads -3 -o h.dci g.npy
[ ! -e h.dci ] || fail "a refused build wrote its index"

# A huge -k is capped at the index or gallery size: every query gets all 1000 rows, quickly, in little memory.
(ulimit -v 4000000; dcar-query -i g.dci -k 2000000000 q.npy >out.tsv) || fail "-k 2000000000 on an index failed"
[ "$(wc -l <out.tsv)" = 20000 ] || fail "-k 2000000000 on an index gave $(wc -l <out.tsv) lines"
(ulimit -v 4000000; dcar-query -g g.npy -k 2000000000 q.npy >out.tsv) || fail "-k 2000000000 on a gallery failed"
[ "$(wc -l <out.tsv)" = 20000 ] || fail "-k 2000000000 on a gallery gave $(wc -l <out.tsv) lines"
(ulimit -v 4000000; dcar-query -i ivf.dci --nprobe 4 -k 4294967296 q.npy >out.tsv) || fail "-k 2^32 on an IVF index failed"
[ "$(wc -l <out.tsv)" = 20000 ] || fail "-k 2^32 on an IVF index gave $(wc -l <out.tsv) lines"
echo "limits: ok"
