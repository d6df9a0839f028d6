# dcar-index add --shard: N adds given the same inputs, each writing its own shard of a template, hold every
# input once between them (merge joins them); a shard without inputs is the template; --shard auto reads
# Slurm's array task and is a usage error outside Slurm.
source "$(dirname "$0")/lib.sh" "$@"
for i in 0 1 2 3 4; do make_npy p$i 400 32 $((20 + i)); done
count() { dcar-index info "$1" | awk -F'\t' '$1 == "count" { print $2 }'; }
dcar-index build -q --train-only -f IVF4,Flat -o template.dci p0.npy p1.npy p2.npy p3.npy p4.npy
inputs=(p0.npy p1.npy p2.npy p3.npy p4.npy)
for s in 0 1 2; do dcar-index add -q template.dci --shard $s/3 -o shard$s.dci "${inputs[@]}"; done
[ "$(count shard0.dci)" = 800 ] && [ "$(count shard1.dci)" = 800 ] && [ "$(count shard2.dci)" = 400 ] ||
  fail "shards hold $(count shard0.dci), $(count shard1.dci), $(count shard2.dci) vectors, expected 800, 800, 400 (inputs 0 3, 1 4, 2)"
dcar-index merge -q -o merged.dci shard0.dci shard1.dci shard2.dci
[ "$(count merged.dci)" = 2000 ] || fail "merged: $(count merged.dci) vectors"
for i in 0 1 2 3 4; do
  dcar-query -i merged.dci --nprobe 4 -k 1 p$i.npy | awk -F'\t' '$1 != $3 { bad++ } END { exit bad > 0 }' ||
    fail "ids of p$i are missing from the merged index"
done
# More shards than inputs: shard 6 of 8 has none, and is the template.
expect_status 0 dcar-index add template.dci --shard 6/8 -o empty.dci "${inputs[@]}"
grep -q "shard 6/8: 0 of 5 inputs" err || fail "no shard line: $(cat err)"
[ "$(count empty.dci)" = 0 ] || fail "an empty shard holds $(count empty.dci) vectors"
# auto: an array that starts at 3 (--array=3-5).
env SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_MAX=5 \
  dcar-index add -q template.dci --shard auto -o auto.dci "${inputs[@]}"
cmp <(dcar-query -i auto.dci --nprobe 4 -k 3 p1.npy) <(dcar-query -i shard1.dci --nprobe 4 -k 3 p1.npy) ||
  fail "array task 4 of 3-5 is not shard 1/3"
expect_status 2 env -u SLURM_ARRAY_TASK_ID -u SLURM_STEP_NUM_TASKS dcar-index add template.dci --shard auto -o x.dci p0.npy
grep -q "^dcar-index add: --shard auto: not in a Slurm array task or srun step" err || fail "outside Slurm: $(cat err)"
expect_status 2 dcar-index add template.dci --shard 3/3 -o x.dci p0.npy
grep -q "shard wants i/N" err || fail "bad shard: $(cat err)"
echo "shards: 5 inputs over 3 shard indexes, merged, every id once"
