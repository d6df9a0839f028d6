# dcar-index merge --ondisk: IVF shards merged into an index whose inverted lists lie in a data file beside it,
# which dcar-query maps; it answers exactly as the in-memory merge does (IVF-Flat and IVF-PQ), also when an
# on-disk index is merged again; the pair moves together; a missing or wrong data file, adding to an on-disk
# index, an in-memory merge of one and a non-IVF factory are refused with one clear line.
source "$(dirname "$0")/lib.sh" "$@"
for i in 0 1 2 3; do make_npy p$i 700 16 $((i + 11)); done
make_npy q 60 16 99
for factory in IVF16,Flat IVF8,PQ4x4; do
  rm -f *.dci *.ivfdata
  dcar-index build -q --train-only -f $factory -o template.dci p0.npy p1.npy p2.npy p3.npy
  for i in 0 1 2 3; do dcar-index add -q template.dci -o shard$i.dci p$i.npy; done
  dcar-index merge -q -o memory.dci shard0.dci shard1.dci shard2.dci shard3.dci
  dcar-index merge -q --ondisk -o disk.dci shard0.dci shard1.dci shard2.dci shard3.dci
  data=$(ls disk.dci.*.ivfdata) || fail "$factory: no data file beside the index: $(ls)"
  [ "$(ls disk.dci.*.ivfdata | wc -l)" = 1 ] || fail "$factory: more than one data file"
  dcar-index info disk.dci | grep -q "^ondisk	$data	" || fail "$factory: info: $(dcar-index info disk.dci)"
  dcar-index info --json disk.dci | grep -q '"count":2800' || fail "$factory: count: $(dcar-index info --json disk.dci)"
  [ "$(stat -c %s disk.dci)" -lt "$(stat -c %s memory.dci)" ] || fail "$factory: the on-disk index holds its lists"
  dcar-query -i memory.dci --nprobe 16 -k 10 q.npy > memory.tsv
  dcar-query -i disk.dci --nprobe 16 -k 10 q.npy > disk.tsv
  [ "$(wc -l < disk.tsv)" = 600 ] || fail "$factory: $(wc -l < disk.tsv) results"
  cmp memory.tsv disk.tsv || fail "$factory: the on-disk index answers otherwise than the in-memory merge"
  # An on-disk index merged again with another shard, on disk.
  dcar-index merge -q --ondisk -o again.dci disk.dci shard0.dci 2>/dev/null && fail "$factory: duplicate ids were merged"
  dcar-index merge -q --ondisk -o half.dci shard0.dci shard1.dci
  dcar-index merge -q --ondisk -o whole.dci half.dci shard2.dci shard3.dci
  dcar-query -i whole.dci --nprobe 16 -k 10 q.npy > whole.tsv
  cmp memory.tsv whole.tsv || fail "$factory: an on-disk index merged again answers otherwise"
done
# The index and its data move together; the query maps the data beside the index, wherever it is run from.
mkdir moved && mv disk.dci "$data" moved/
(cd / && dcar-query -i "$T/moved/disk.dci" --nprobe 16 -k 10 "$T/q.npy") > moved.tsv
cmp memory.tsv moved.tsv || fail "a moved on-disk index answers otherwise"
# Refusals, one line each.
mv "moved/$data" "moved/$data.away"
expect_status 1 dcar-query -i moved/disk.dci -k 1 q.npy
grep -q "moved/$data: cannot open the index's on-disk data" err || fail "missing data: $(cat err)"
head -c 1000 "moved/$data.away" > "moved/$data"
expect_status 1 dcar-query -i moved/disk.dci -k 1 q.npy
grep -q "not the data this index was merged with" err || fail "wrong data: $(cat err)"
expect_status 2 dcar-index add whole.dci -o x.dci p0.npy
grep -q "whole.dci: was merged on disk and is read-only" err || fail "add: $(cat err)"
expect_status 2 dcar-index merge -o x.dci whole.dci shard0.dci
grep -q "whole.dci: was merged on disk: merge it again with --ondisk" err || fail "in-memory merge: $(cat err)"
dcar-index build -q -f Flat -o flat0.dci p0.npy
dcar-index build -q -f Flat -o flat1.dci p1.npy
expect_status 2 dcar-index merge --ondisk -o x.dci flat0.dci flat1.dci
grep -q "flat0.dci: --ondisk merges IVF indexes only" err || fail "non-IVF: $(cat err)"
# Merging into the same output again with other shards replaces the data file; nothing is left behind.
old=$(ls whole.dci.*.ivfdata)
dcar-index merge -q --ondisk -o whole.dci shard1.dci shard2.dci
[ ! -e "$old" ] || fail "the replaced index's data file was left behind"
[ "$(ls whole.dci.*.ivfdata | wc -l)" = 1 ] || fail "data files: $(ls whole.dci.*)"
[ "$(dcar-index info --json whole.dci | grep -o '"count":[0-9]*')" = '"count":1400' ] || fail "re-merged count"
ls -a | grep -q '\.tmp\.' && fail "a temporary was left: $(ls -a)"
echo "ondisk: merged on disk, mapped, equal to the in-memory merge"
