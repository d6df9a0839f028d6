# Shared by the CLI tests: strict mode, a temporary directory, and small assertion helpers.
# Usage in a test: source "$(dirname "$0")/lib.sh" "$@"   (arguments: TOOLDIR SRCDIR)
set -euo pipefail
TOOLS=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
PATH="$TOOLS:$PATH"
T=$(mktemp -d "${TMPDIR:-/tmp}/dcar-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_status CODE CMD...: runs CMD, stdout → $T/out, stderr → $T/err; fails unless it exits with CODE.
expect_status() {
  local want=$1; shift
  set +e; "$@" >"$T/out" 2>"$T/err"; local got=$?; set -e
  [ "$got" = "$want" ] || { echo "stderr was:" >&2; cat "$T/err" >&2; fail "'$*' exited $got, expected $want"; }
}
# expect_err_line TEXT: stderr is exactly one line and contains TEXT.
expect_err_line() {
  [ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err" >&2; fail "expected one error line"; }
  grep -qF -- "$1" "$T/err" || fail "stderr '$(cat "$T/err")' lacks '$1'"
}
# make_npy NAME ROWS DIM SEED: a float32 .npy of clustered rows with ids NAME0.. and labels c0..c4.
make_npy() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, numpy as np
name, n, d, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
centres = np.random.default_rng(7).standard_normal((5, d))
labels = rng.integers(0, 5, n)
x = (centres[labels] + 0.5 * rng.standard_normal((n, d))).astype(np.float32)
np.save(name + ".npy", x)
with open(name + ".ids", "w") as f:
    for i in range(n):
        f.write(f"{name}{i}\tc{labels[i]}\n")
PY
}
