# dcar-mine-negatives on small JSON-lines manifests: the exact output where every draw is forced, the summary
# on stderr, --keep-released, hard swaps from class embeddings in a .npy, determinism under --seed, stdin and
# -o, and the usage (2) and missing-file (1) errors.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

# Two classes of two items each: one swap (the only other class) and one attribute negative (the only other
# item of the class) per caption, whatever the seed.
cat > small.jsonl <<'EOF'
{"id": "a", "image": "a.jpg", "caption": "This is a photo of cat.A cat on a mat.", "class": "cat"}
{"id": "b", "image": "b.jpg", "caption": "This is a photo of cat.A category of toys.", "class": "cat", "negatives": ["This is a photo of sea_lion.A category of toys.", "this is a photo of CAT.a  category of toys.", "This is a photo of dog.A category of toys."]}
{"id": "c", "image": "c.jpg", "caption": "Photo of a sea_lion on rocks.", "class": "sea lion"}
{"id": "d", "image": "d.jpg", "caption": "Two sea lions swim.", "class": "sea lion"}
EOF
expect_status 0 dcar-mine-negatives --alpha 0.25 small.jsonl
cat > want.py <<'EOF'
W = 1.25
def neg(text, cls, kind, same):
    return {"text": text, "class": cls, "kind": kind, "same_class": same, "weight": W if same else 1.0}
want = [
    {"id": "a", "caption_id": "a#0", "image": "a.jpg", "caption": "This is a photo of cat.A cat on a mat.", "class": "cat",
     "negatives": [neg("This is a photo of sea_lion.A sea_lion on a mat.", "sea lion", "swap", False),
                   neg("This is a photo of cat.A category of toys.", "cat", "attribute", True)]},
    {"id": "b", "caption_id": "b#0", "image": "b.jpg", "caption": "This is a photo of cat.A category of toys.", "class": "cat",
     "negatives": [neg("This is a photo of sea_lion.A category of toys.", "sea lion", "swap", False),
                   neg("This is a photo of cat.A cat on a mat.", "cat", "attribute", True)]},
    {"id": "c", "caption_id": "c#0", "image": "c.jpg", "caption": "Photo of a sea_lion on rocks.", "class": "sea lion",
     "negatives": [neg("Photo of a cat on rocks.", "cat", "swap", False),
                   neg("Two sea lions swim.", "sea lion", "attribute", True)]},
    # "sea lions" is not an occurrence of "sea lion" (no plurals): no swap, one caption without its class name.
    {"id": "d", "caption_id": "d#0", "image": "d.jpg", "caption": "Two sea lions swim.", "class": "sea lion",
     "negatives": [neg("Photo of a sea_lion on rocks.", "sea lion", "attribute", True)]},
]
EOF
cat > check.py <<'EOF'
import json, sys
exec(open(sys.argv[2]).read())
got = [json.loads(line) for line in open(sys.argv[1])]
if got != want:
    for g, w in zip(got, want):
        if g != w: print("got ", g, "\nwant", w, file=sys.stderr)
    sys.exit("output differs")
EOF
/usr/bin/python3 check.py out want.py || fail "exact output"
grep -qF '4 items, 4 captions: 3 swap negatives (0 hard), 4 attribute negatives; 1 captions without their class name' err \
  || fail "summary: $(cat err)"
[ "$(wc -l <err)" = 1 ] || fail "stderr is not one line"

# --keep-released: b's released negatives are filtered like the others (the first equals b's swap, the second
# the positive) and classed by the class name they contain ("" for none).
expect_status 0 dcar-mine-negatives -q --keep-released small.jsonl
[ ! -s err ] || fail "stderr with -q: $(cat err)"
/usr/bin/python3 - out <<'PY' || fail "released negatives"
import json, sys
b = [json.loads(l) for l in open(sys.argv[1])][1]
rel = [n for n in b["negatives"] if n["kind"] == "released"]
assert rel == [{"text": "This is a photo of dog.A category of toys.", "class": "", "kind": "released",
                "same_class": False, "weight": 1.0}], rel
PY
expect_status 0 dcar-mine-negatives -q --keep-released --swaps 0 --attributes 0 small.jsonl
/usr/bin/python3 - out <<'PY' || fail "released negatives without swaps"
import json, sys
b = [json.loads(l) for l in open(sys.argv[1])][1]
assert [(n["class"], n["weight"]) for n in b["negatives"]] == [("sea lion", 1.0), ("", 1.0)], b
PY

# A bigger manifest: eight classes, three items each.
/usr/bin/python3 - <<'PY'
import json
classes = ["cat", "dog", "ant", "bus", "Apply_Eye_Makeup", "sea lion", "car side", "emu"]
with open("big.jsonl", "w") as f:
    for c in classes:
        for k in range(3):
            f.write(json.dumps({"id": f"{c}-{k}", "caption": f"This is a photo of {c}.Picture {k} of it.", "class": c}) + "\n")
PY
expect_status 0 dcar-mine-negatives -q --seed 7 big.jsonl && cp out big1
expect_status 0 dcar-mine-negatives -q --seed 7 --threads 2 -o big2 - < big.jsonl
[ ! -s out ] || fail "stdout with -o"
cmp big1 big2 || fail "not deterministic (stdin, -o, threads)"
expect_status 0 dcar-mine-negatives -q --seed 8 big.jsonl
! cmp -s big1 out || fail "--seed changes nothing"
/usr/bin/python3 - big1 <<'PY' || fail "big manifest"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    kinds = [n["kind"] for n in r["negatives"]]
    assert kinds == ["swap"] * 3 + ["attribute"] * 2, kinds
    assert len({n["text"].lower() for n in r["negatives"]} | {r["caption"].lower()}) == 6
    for n in r["negatives"]:
        assert n["same_class"] == (n["class"] == r["class"]) and n["weight"] == (1.5 if n["same_class"] else 1.0), n
PY

# Hard swaps: class-name embeddings in a .npy (ids = class names); cat, dog and ant are close together.
/usr/bin/python3 - <<'PY'
import numpy as np
names = ["cat", "dog", "ant", "bus", "Apply_Eye_Makeup", "sea lion", "car side", "emu"]
x = np.eye(8, dtype=np.float32)
x[0, 1] = x[1, 0] = x[2, 0] = x[0, 2] = x[1, 2] = x[2, 1] = 0.9
np.save("classes.npy", x)
open("classes.ids", "w").write("".join(n + "\n" for n in names))
PY
expect_status 0 dcar-mine-negatives --hard-swap-p 1 --hard-pool 2 --swaps 2 --attributes 0 --class-embeddings classes.npy big.jsonl
grep -qF '48 swap negatives (48 hard)' err || fail "hard summary: $(cat err)"
/usr/bin/python3 - out <<'PY' || fail "hard swaps"
import json, sys
near = {"cat": {"dog", "ant"}, "dog": {"cat", "ant"}, "ant": {"cat", "dog"}}
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert all(n["kind"] == "hard-swap" for n in r["negatives"]), r
    if r["class"] in near:
        assert {n["class"] for n in r["negatives"]} == near[r["class"]], r
PY

# Errors: usage (2) and a missing file (1), one line each.
expect_status 2 dcar-mine-negatives --bogus small.jsonl
expect_status 2 dcar-mine-negatives --swaps -1 small.jsonl
expect_status 2 dcar-mine-negatives --hard-swap-p 0.5 small.jsonl
grep -qF -- '--class-embeddings' err || fail "hard-swap-p without embeddings: $(cat err)"
expect_status 2 dcar-mine-negatives --hard-swap-p 1.5 --class-embeddings classes.npy small.jsonl
expect_status 2 dcar-mine-negatives --alpha -1 small.jsonl
expect_status 2 dcar-mine-negatives small.jsonl big.jsonl
expect_status 1 dcar-mine-negatives -o never.jsonl missing.json
expect_err_line missing.json
[ ! -e never.jsonl ] || fail "output written on error"
/usr/bin/python3 -c 'import numpy as np; np.save("two.npy", np.eye(2, dtype=np.float32))'
printf 'cat\ndog\n' > two.ids
expect_status 1 dcar-mine-negatives --hard-swap-p 1 --class-embeddings two.npy small.jsonl
expect_err_line "no embedding for class 'sea lion'"
echo "negatives.sh: ok"
