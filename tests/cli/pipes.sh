# Pipelines: tools stream into each other through stdin/stdout, and a reader that stops early (`| head`)
# ends the writer quietly: exit 0 (SIGPIPE ignored, EPIPE handled), nothing on stderr.
source "$(dirname "$0")/lib.sh" "$@"
make_npy g 20000 32 1
make_npy q 3000 32 2
dcar-cat --format dcs g.npy | dcar-index build -q -f Flat -o g.dci -
[ "$(dcar-index info g.dci | grep -c '^count	20000$')" = 1 ] || fail "stdin build"

# dcar-query | head: quiet success, even though thousands of result lines remain unwritten.
set +e
dcar-query -i g.dci -k 50 q.npy 2>err | head -1 > first; status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" = 0 ] || fail "dcar-query exited ${status[0]} on a closed pipe"
[ ! -s err ] || fail "dcar-query wrote to stderr on a closed pipe: $(cat err)"
[ "$(cut -f1,2 first)" = "q0	1" ] || fail "first line $(cat first)"
set +e
dcar-cat g.npy 2>err | head -c 10 >/dev/null; status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" = 0 ] && [ ! -s err ] || fail "dcar-cat on a closed pipe: ${status[0]} $(cat err)"

# Streams flow: query output in JSON lines parses, one line per (query, rank).
dcar-cat --format dcs q.npy | dcar-query -g g.npy -k 3 -F jsonl - > hits.jsonl
[ "$(wc -l < hits.jsonl)" = 9000 ] || fail "jsonl line count"
/usr/bin/python3 -c "
import json
rows = [json.loads(l) for l in open('hits.jsonl')]
assert rows[0]['query'] == 'q0' and rows[0]['rank'] == 1 and rows[2]['rank'] == 3
assert all(a['score'] >= b['score'] for a, b in zip(rows[0:3], rows[1:3]))
"
echo "pipes: ok"
