# An output that is one of the tool's inputs is a usage error (status 2) found before any work, and the input
# is left as it was, whether it is named the same way, as ./NAME, through a symbolic link or by a hard link.
# An empty output name is a usage error naming the option.
source "$(dirname "$0")/lib.sh" "$@"
make_npy a 500 16 1
make_npy b 300 16 2
dcar-cat --format dcs -o in.dcs a.npy
dcar-index build -q -o x.dci a.npy
dcar-index build -q -o s.dci b.npy
ln -s in.dcs link.dcs
ln in.dcs hard.dcs
printf '{"id": "a0", "label": "c0", "captions": ["a photo"]}\n' >m.jsonl
for f in a.npy a.ids in.dcs x.dci m.jsonl; do cp $f $f.orig; done

# refused FILE CMD...: CMD exits 2 with "FILE: is both an input and the output" first on stderr, and no
# input changed.
refused() {
  local file=$1; shift
  expect_status 2 "$@"
  head -1 "$T/err" | grep -qF -- "$file: is both an input and the output" || fail "'$*': stderr was $(cat "$T/err")"
  for f in a.npy a.ids in.dcs x.dci m.jsonl; do cmp -s $f $f.orig || fail "'$*' changed $f"; done
  ls -A | grep -q '\.tmp\.' && fail "'$*' left a temporary"
  true
}
refused in.dcs dcar-index build -o in.dcs in.dcs
refused ./in.dcs dcar-index build -o ./in.dcs in.dcs
refused link.dcs dcar-index build -o link.dcs in.dcs
refused hard.dcs dcar-index build -o hard.dcs in.dcs
refused a.ids dcar-index build -o a.ids --ids a.ids a.npy
refused in.dcs dcar-index add x.dci -o in.dcs in.dcs
refused x.dci dcar-query -i x.dci -o x.dci a.npy
refused a.npy dcar-query -i x.dci -o a.npy a.npy
refused in.dcs dcar-query -g in.dcs -o in.dcs a.npy
refused a.ids dcar-query -i x.dci --ids a.ids -o a.ids a.npy
refused a.npy dcar-cat --format dcs -o a.npy a.npy
refused ./in.dcs dcar-cat -o ./in.dcs in.dcs
refused a.ids dcar-cat --format npy --ids-out a.ids -o c.npy a.npy
refused a.ids dcar-cat -o a.ids a.npy
refused a.ids dcar-query -g a.npy -o a.ids b.npy
refused in.dcs dcar-score --images in.dcs --texts a.npy -o in.dcs
refused link.dcs dcar-score --images a.npy --texts in.dcs --plot link.dcs
refused m.jsonl dcar-mine-negatives -o m.jsonl m.jsonl
refused m.jsonl dcar-mine-negatives --val-fraction 0.5 --val-output m.jsonl -o n.jsonl m.jsonl

# Two outputs of one tool that are one file: refused before any work, whether the file is there or not, and
# however it is named; a device may take both.
twice() {
  local file=$1; shift
  expect_status 2 "$@"
  head -1 "$T/err" | grep -qF -- "$file: is named by two outputs" || fail "'$*': stderr was $(cat "$T/err")"
  ls -A | grep -q '\.tmp\.' && fail "'$*' left a temporary"
  true
}
twice r.svg dcar-score --images a.npy --texts b.npy -o r.svg --plot r.svg
twice r.svg dcar-score --images a.npy --texts b.npy -o ./r.svg --plot r.svg
[ ! -e r.svg ] || fail "a refused run wrote r.svg"
touch r.json && ln -s r.json r-link.json
twice r-link.json dcar-score --images a.npy --texts b.npy -o r.json --plot r-link.json
twice v.jsonl dcar-mine-negatives --val-fraction 0.5 --val-output v.jsonl -o v.jsonl m.jsonl
twice c.npy dcar-cat --format npy --ids-out c.npy -o c.npy a.npy
expect_status 1 dcar-score --images a.npy --texts b.npy -o /dev/null --plot /dev/null  # past the check: no pairs
grep -q "no image-caption pairs" err || fail "/dev/null twice: $(cat err)"

# Writing an index over itself is what add does in place; merging into one of the shards keeps every row.
expect_status 0 dcar-index add -q x.dci -o x.dci b.npy
[ "$(dcar-index info x.dci | awk -F'\t' '$1 == "count" { print $2 }')" = 800 ] || fail "add -o INDEX INDEX"
dcar-index build -q -o x.dci a.npy
expect_status 0 dcar-index merge -q -o x.dci x.dci s.dci
[ "$(dcar-index info x.dci | awk -F'\t' '$1 == "count" { print $2 }')" = 800 ] || fail "merge into its first shard"

# Devices are written in place, so /dev/null as an output is fine even when it is also read.
expect_status 0 dcar-cat -c -o /dev/null a.npy

# Empty output names.
expect_status 2 dcar-index build -o "" a.npy
head -1 err | grep -q -- "--output" || fail "build -o '': $(cat err)"
expect_status 2 dcar-index add x.dci -o "" b.npy
head -1 err | grep -q -- "--output" || fail "add -o '': $(cat err)"
expect_status 2 dcar-index merge -o "" x.dci s.dci
head -1 err | grep -q -- "--output" || fail "merge -o '': $(cat err)"
expect_status 2 dcar-query -i x.dci -o "" a.npy
head -1 err | grep -q -- "--output" || fail "query -o '': $(cat err)"
expect_status 2 dcar-cat -o "" a.npy
head -1 err | grep -q -- "--output" || fail "cat -o '': $(cat err)"
expect_status 2 dcar-score --images a.npy --texts b.npy --plot ""
head -1 err | grep -q -- "--plot" || fail "score --plot '': $(cat err)"
expect_status 2 dcar-mine-negatives -o "" m.jsonl
head -1 err | grep -q -- "--output" || fail "mine-negatives -o '': $(cat err)"
echo "same_file: ok"
