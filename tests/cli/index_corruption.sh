# A corrupted index never crashes a tool: single bytes flipped anywhere in an HNSW index (whose FAISS payload
# is full of offsets FAISS trusts) give one clear error line and exit 1 from dcar-query and dcar-index add,
# never a signal; the FAISS payload's checksum catches what the container's own checks cannot.
source "$(dirname "$0")/lib.sh" "$@"
make_npy base 1000 16 1
make_npy more 10 16 2
dcar-index build -f HNSW16 --quiet -o good.dci base.npy
size=$(stat -c %s good.dci)
/usr/bin/python3 - "$size" <<'PY' > offsets.txt
import random, sys
r = random.Random(7)
size = int(sys.argv[1])
print("\n".join(str(r.randrange(size)) for _ in range(200)))
PY
caught=0
while read -r offset; do
  cp good.dci bad.dci
  /usr/bin/python3 -c "
import sys
f = open('bad.dci', 'r+b'); f.seek(int(sys.argv[1])); b = f.read(1); f.seek(int(sys.argv[1])); f.write(bytes([b[0] ^ 0x5a]))" "$offset"
  for tool in query add; do
    set +e
    if [ $tool = query ]; then dcar-query -i bad.dci -k 3 more.npy > /dev/null 2> err; else dcar-index add bad.dci more.npy -o added.dci 2> err; fi
    status=$?
    set -e
    [ $status -lt 128 ] || fail "byte $offset flipped: dcar-$tool died with signal $((status - 128))"
    if [ $status = 1 ]; then
      [ "$(wc -l < err)" = 1 ] || fail "byte $offset: more than one error line: $(cat err)"
      caught=$((caught + 1))
    fi
  done
done < offsets.txt
# Flips inside ids or provenance text can leave a readable index; everything else must be refused.
[ $caught -ge 300 ] || fail "only $caught of 400 corrupted loads were refused"
grep -c . offsets.txt > /dev/null
echo "index_corruption: $caught of 400 corrupted loads refused, none crashed"
