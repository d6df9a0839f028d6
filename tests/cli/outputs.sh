# Where outputs go: a FIFO or device named with -o is written in place (never replaced by a regular file);
# a symbolic link keeps pointing at its file, which is replaced atomically; SIGTERM and SIGINT remove the
# temporary file of an unfinished output; OMP_NUM_THREADS is honoured when --threads is not given.
source "$(dirname "$0")/lib.sh" "$@"
make_npy a 2000 32 1

mkfifo fifo
cat fifo > from_fifo & reader=$!
dcar-cat --format dcs -o fifo a.npy
wait $reader
[ -p fifo ] || fail "the FIFO was replaced"
[ "$(dcar-cat -c from_fifo)" = 2000 ] || fail "FIFO output unreadable"

dcar-cat --format dcs -o real.dcs a.npy
ln -s real.dcs link.dcs
dcar-cat --format dcs --dtype f16 -o link.dcs a.npy
[ -L link.dcs ] || fail "the symbolic link was replaced by a file"
dcar-cat -H real.dcs | grep -q '"dtype": "f16"' || fail "the link's target was not rewritten"

dcar-cat -c -o /dev/null a.npy
[ -c /dev/null ] || fail "/dev/null is no longer a device"

# A writer still waiting for input (stdin held open) is terminated: its temporary must go, and no output appear.
make_npy big 200000 64 2
for sig in TERM INT; do
  (cat big.npy; sleep 30) | dcar-cat -q --format dcs -o sig.dcs - & pid=$!
  for _ in $(seq 50); do ls -A | grep -q '\.sig\.dcs\.tmp\.' && break; sleep 0.1; done
  ls -A | grep -q '\.sig\.dcs\.tmp\.' || fail "the writer never opened its temporary"
  pkill -$sig -f 'dcar-cat -q --format dcs -o sig.dcs' || true
  wait $pid 2>/dev/null || true
  pkill -f 'sleep 30' || true
  if ls -A | grep -q '\.tmp\.'; then ls -A; fail "SIG$sig left a temporary file"; fi
  [ ! -e sig.dcs ] || fail "a killed writer left its output"
done

# OMP_NUM_THREADS is the default thread count; --threads overrides it. (/proc shows the threads of a busy query.)
threads_of() {  # threads_of ENV... : peak thread count of a gallery query run with that environment
  env "$@" dcar-query -q -g big.npy -k 5 q.npy > /dev/null & local pid=$! peak=0 n
  while kill -0 $pid 2>/dev/null; do
    n=$(ls /proc/$pid/task 2>/dev/null | wc -l); [ "$n" -gt "$peak" ] && peak=$n; sleep 0.02
  done
  wait $pid || fail "query failed"
  echo $peak
}
make_npy q 4000 64 3
[ "$(threads_of OMP_NUM_THREADS=1)" = 1 ] || fail "OMP_NUM_THREADS=1 not honoured"
if [ "$(nproc)" -ge 2 ]; then
  [ "$(threads_of OMP_NUM_THREADS=2)" -ge 2 ] || fail "OMP_NUM_THREADS=2 gave one thread (is the measurement broken?)"
fi
echo "outputs: ok"
