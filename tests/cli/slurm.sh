# examples/slurm on a real single-node Slurm cluster that the test starts and stops itself (Debian's slurmctld,
# slurmd and munge, no systemd, ports on localhost): the chain embed → train → add → merge over 1,008 world
# images with the tiny test model and 4 array tasks, one embed task's dcar-embed killed mid-run (kill -9) and
# resumed by its script, another requeued by Slurm mid-run; the shards merged on disk (MERGE_OPTIONS=--ondisk),
# so the queries map the index's lists. The merged index must hold every image once and give the same top-10
# as one process adding all the embeddings to the same template (up to the order of exact ties). That relies
# on dcar-embed's promise that an item's embedding bytes do not depend on --shard, --resume or --part-size (docs/DETERMINISM.md).
source "$(dirname "$0")/lib.sh" "$@"
for tool in slurmctld slurmd sbatch munged mungekey; do
  command -v $tool >/dev/null || { echo "slurm: skipped ($tool not installed; make -f Makefile.wrapper deps)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "slurm: skipped (the test cluster runs as root)"; exit 0; }
[ -x "$TOOLS/dcar-embed" ] || { echo "slurm: skipped (dcar-embed not built)"; exit 0; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "slurm: skipped (no python3-torch for the tiny model)"; exit 0; }

# ---- a throw-away cluster: munged with its own key and socket, slurmctld, slurmd ------------------------------
C=$T/cluster
mkdir -p "$C"/etc "$C"/state "$C"/spool "$C"/log "$C"/munge
chmod 755 "$T" "$C" "$C/munge"   # munged refuses a socket in a directory only its owner may enter
poll() {  # poll SECONDS CMD...: until CMD succeeds, every 0.2 s, for at most SECONDS of wall time
  local deadline=$((SECONDS + $1)); shift
  while ! "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}
# Processes whose command line contains a text, read from /proc (a minimal Debian has no procps).
processes_naming() {
  local d
  for d in /proc/[0-9]*; do
    { tr '\0' ' ' < "$d/cmdline"; } 2>/dev/null | grep -qF -- "$1" && echo "${d#/proc/}"
  done
  return 0
}
stop_cluster() {
  squeue -h -o %A 2>/dev/null | sort -u | xargs -r scancel 2>/dev/null || true
  for pid in $(cat "$C/pids" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in $(processes_naming "$T/run"); do kill -KILL "$pid" 2>/dev/null || true; done  # a job still running
  wait 2>/dev/null || true
}
trap 'stop_cluster; rm -rf "$T"' EXIT
free_port() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((17000 + RANDOM % 800 * 2))
until free_port $port && free_port $((port + 1)); do port=$((port + 2)); done
# munge with its own key and socket. munged refuses a socket that not every user can reach (it checks every
# directory up to /), which fails in a chroot whose / is 0700; there the private cluster uses auth/none.
mungekey --create --keyfile="$C/munge/key"
munged --foreground --socket="$C/munge/sock" --key-file="$C/munge/key" --pid-file="$C/munge/pid" \
  --seed-file="$C/munge/seed" --log-file="$C/log/munged.log" </dev/null >"$C/log/munged.out" 2>&1 &
echo $! >> "$C/pids"
if poll 10 test -S "$C/munge/sock"; then
  auth="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$C/munge/sock"
else
  echo "slurm: munged cannot run here ($(head -c 300 "$C/log/munged.out" 2>/dev/null)); the test cluster uses auth/none"
  auth="AuthType=auth/none
CredType=cred/none"
fi
cat > "$C/etc/slurm.conf" <<CONF
ClusterName=dcartest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
$auth
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
echo "CgroupPlugin=cgroup/v1" > "$C/etc/cgroup.conf"
export SLURM_CONF=$C/etc/slurm.conf
slurmctld -D -i </dev/null >"$C/log/slurmctld.out" 2>&1 &
echo $! >> "$C/pids"
slurmd -D -N localhost </dev/null >"$C/log/slurmd.out" 2>&1 &
echo $! >> "$C/pids"
idle() { [ "$(timeout 10 sinfo -h -n localhost -o %t 2>/dev/null)" = idle ]; }
poll 60 idle || fail "the test cluster's node never became idle: $(tail -5 "$C"/log/*.log)"

# ---- the data, the model, and one process's result on the same images ------------------------------------------
dcar-world --quiet --size 32 --families 6 --base-per-family 1 --novel-per-family 8 --pretrain-per-class 1 \
  --pretrain-per-novel 0 --train-per-class 21 --test-per-class 1 world
IMAGES=$T/world/images/train
[ "$(find "$IMAGES" -name '*.jpg' | wc -l)" = 1008 ] || fail "expected 1,008 images"
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
dcar-embed -q -m tiny.safetensors --folder "$IMAGES" -o single.dcs

# ---- the chain, with the tools on the PATH of the jobs -----------------------------------------------------------
W=$T/run
ids=$(MODEL=$T/tiny.safetensors IMAGES=$IMAGES WORK=$W TASKS=4 FACTORY=IVF16,Flat TRAIN_SAMPLE=1008 PART_SIZE=12 \
  EMBED_OPTIONS="--decode-threads 1" MERGE_OPTIONS=--ondisk "$SRC/examples/slurm/submit.sh" --chdir="$T")
read -r _ embed _ train _ add _ merge <<<"$ids"
[ -n "$merge" ] || fail "submit.sh printed '$ids'"

# Two embed tasks are interrupted mid-run, each once it has finished its first part of 21 (and is stopped
# there, so that it cannot finish first): task 1's dcar-embed is killed (kill -9, as the OOM killer would),
# and the task's script resumes it; task 2 is requeued by Slurm (scontrol requeue), which kills it and runs
# it again from the start of its script.
victim=""
find_victim() {  # find_victim TASK: the dcar-embed process of that array task
  victim=""
  for pid in $(grep -lx dcar-embed /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3); do
    { tr '\0' '\n' < /proc/$pid/environ; } 2>/dev/null | grep -qx "SLURM_ARRAY_TASK_ID=$1" && { victim=$pid; return 0; }
  done
  return 1
}
first_part() { [ -e "$W/parts/part-0000$1-000000.done" ]; }
stop_mid_run() {  # stop_mid_run TASK: the task's dcar-embed ($victim) stopped after its first part ($done_parts)
  poll 120 find_victim $1 || fail "embed task $1 never started: $(squeue)"
  poll 120 first_part $1 || fail "embed task $1 never finished a part"
  kill -STOP "$victim" 2>/dev/null || fail "embed task $1 ended before it could be stopped mid-run"
  done_parts=$(ls "$W"/parts/part-0000$1-*.done | wc -l)
  [ "$done_parts" -lt 21 ] || fail "embed task $1 had finished before it was stopped"
}
stop_mid_run 1
done1=$done_parts
kill -KILL "$victim"
stop_mid_run 2
done2=$done_parts
scontrol requeue "${embed}_2" || fail "scontrol requeue failed"
# Slurm holds a requeued job back for a while (its BeginTime); let it start now.
scontrol update JobId="${embed}_2" StartTime=now || fail "scontrol update StartTime failed"
kill -CONT "$victim" 2>/dev/null || true

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1; }
chain_over() {
  case "$(job_state "$merge")" in JobState=COMPLETED|JobState=FAILED|JobState=CANCELLED) return 0;; esac
  squeue -h -o %r | grep -q DependencyNeverSatisfied && return 0
  return 1
}
poll 300 chain_over || fail "the chain did not finish: $(squeue)"
[ "$(job_state "$merge")" = JobState=COMPLETED ] || fail "merge: $(job_state "$merge"); $(squeue); $(tail -3 "$W"/logs/*)"

# ---- what the chain made ------------------------------------------------------------------------------------------
# Every image embedded once, with the bytes of one process, although task 1 was killed and run again.
[ "$(cat "$W"/parts/part-*.dcs | dcar-cat -c)" = 1008 ] || fail "parts hold $(cat "$W"/parts/part-*.dcs | dcar-cat -c) rows"
cmp <(cat "$W"/parts/part-*.dcs | dcar-cat | sort) <(dcar-cat single.dcs | sort) || fail "the parts differ from one process"
grep -q "resuming (attempt 2 of 3)" "$W"/logs/dcar-embed-"${embed}"_1.log ||
  fail "task 1's script did not resume dcar-embed: $(ls "$W/logs"; cat "$W"/logs/dcar-embed-"${embed}"_1.log)"
for task in 1 2; do
  grep -q "already done" "$W"/logs/dcar-embed-"${embed}"_$task.log || fail "task $task did not resume its parts"
done
# The merged index: 1,008 vectors, each image its own nearest neighbour (every id present, hence once), and
# the same top-10 as one process adding everything to the same template.
info=$(dcar-index info --json "$W/index")
echo "$info" | grep -q '"count": *1008' || fail "merged index: $info"
echo "$info" | grep -q '"ondisk": *{"bytes"' || fail "the index was not merged on disk (MERGE_OPTIONS=--ondisk): $info"
grep -q '"parts": 84' "$W/summary.json" || fail "summary: $(cat "$W/summary.json")"
dcar-index add "$W/template.index" -o single.index single.dcs
dcar-query -q -i "$W/index" --nprobe 16 -k 1 single.dcs | awk -F'\t' '$1 != $3' > mismatched.tsv
[ ! -s mismatched.tsv ] || fail "images not their own neighbour: $(head -3 mismatched.tsv)"
dcar-query -q -i "$W/index" --nprobe 16 -k 10 single.dcs > chain.tsv
dcar-query -q -i single.index --nprobe 16 -k 10 single.dcs > one.tsv
# Equal scores may come in either order (FAISS keeps no order among exact ties, and the merged lists hold
# the vectors in another order than one process's): the same score at every rank, and the same neighbours
# with the same scores.
cmp <(cut -f1,2,4 chain.tsv) <(cut -f1,2,4 one.tsv) || fail "the chain's top-10 scores differ from one process's: $(diff chain.tsv one.tsv | head -8)"
cmp <(cut -f1,3,4 chain.tsv | sort) <(cut -f1,3,4 one.tsv | sort) || fail "the chain's top-10 differ from one process's: $(diff chain.tsv one.tsv | head -8)"
[ "$(wc -l < chain.tsv)" = 10080 ] || fail "expected 10 neighbours for each of 1,008 queries"
echo "slurm: 1,008 images through 4 tasks (task 1 killed after $done1 of 21 parts, task 2 requeued after $done2): same top-10 as one process"
