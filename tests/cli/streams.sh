# dcar-cat and the stream format from the command line: npy ↔ stream round trip, concatenated shards,
# corrupt / truncated / mismatched input (one error line naming file and byte, exit 1), binary never to a TTY.
source "$(dirname "$0")/lib.sh" "$@"
make_npy a 300 16 1
make_npy b 200 16 2
make_npy c 10 12 3

dcar-cat --modality image --format dcs -o a.dcs a.npy
dcar-cat --format dcs -o b.dcs b.npy
[ "$(dcar-cat -c a.dcs)" = 300 ] || fail "count"
# Round trip back to .npy is exact, ids and labels included.
dcar-cat --format npy -o back.npy a.dcs
cmp <(dcar-cat a.npy) <(dcar-cat back.npy) || fail "npy round trip changed rows"
cmp a.ids back.ids || fail "ids sidecar differs"
/usr/bin/python3 -c "import numpy as np; a=np.load('a.npy'); b=np.load('back.npy'); assert (a==b).all()"

# Shards concatenate with cat; the header of the first is kept.
cat a.dcs b.dcs > ab.dcs
[ "$(dcar-cat -c ab.dcs)" = 500 ] || fail "concatenated count"
[ "$(dcar-cat --ids-only ab.dcs | sed -n 301p | cut -f1)" = b0 ] || fail "concatenation order"
dcar-cat -H ab.dcs | grep -q '"modality": "image"' || fail "header"
cat a.dcs a.dcs | dcar-cat -c - >/dev/null   # stdin works

# Mismatched dimension: one error line naming the input.
dcar-cat --format dcs -o c.dcs c.npy
cat a.dcs c.dcs > ac.dcs
expect_status 1 dcar-cat -c ac.dcs
expect_err_line "dcar-cat: ac.dcs: byte $(stat -c %s a.dcs): "  # the offset of c.dcs's header, where it starts
grep -qF "dimension 12 where 16 was expected" err || fail "mismatch message"
expect_status 1 dcar-cat -c a.dcs c.dcs
expect_err_line "c.dcs: does not match the inputs before it: dimension 12 where 16 was expected"

# Truncated at every kind of place: header, middle, just before the end marker.
size=$(stat -c %s a.dcs)
for cut in 10 100 $((size / 2)) $((size - 2)); do
  head -c $cut a.dcs > cut.dcs
  expect_status 1 dcar-cat -c cut.dcs
  expect_err_line "dcar-cat: cut.dcs: byte "
  grep -qE "truncated" err || fail "cut at $cut: $(cat err)"
done
# A flipped byte in the data: checksum or structure error, never a silent read.
/usr/bin/python3 -c "
b = bytearray(open('a.dcs','rb').read()); b[len(b)//2] ^= 0x10; open('flip.dcs','wb').write(b)"
expect_status 1 dcar-cat flip.dcs
expect_err_line "dcar-cat: flip.dcs: byte "
expect_status 1 dcar-cat no-such-file.dcs
expect_err_line "dcar-cat: no-such-file.dcs: cannot open: No such file or directory"
echo "plain text" > text.txt
expect_status 1 dcar-cat text.txt
expect_err_line "neither a dcar embedding stream nor a .npy file"

# Binary output to a terminal is refused (run under a pseudo-terminal), text output is not.
/usr/bin/python3 - <<'PY' || fail "tty refusal"
import os, pty, sys
def run(args):
    try:
        pid, fd = pty.fork()
    except OSError as e:  # no pseudo-terminals in this sandbox (a chroot without devpts): nothing to test
        print(f"tty refusal not tested: {e}", file=sys.stderr)
        sys.exit(0)
    if pid == 0:
        os.execvp(args[0], args)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return os.waitpid(pid, 0)[1] >> 8, out
code, out = run(["dcar-cat", "--format", "dcs", "a.npy"])
assert code == 2 and b"refusing to write binary output to a terminal" in out, (code, out)
code, out = run(["dcar-cat", "-c", "a.npy"])
assert code == 0 and b"300" in out, (code, out)
PY
echo "streams: ok"
