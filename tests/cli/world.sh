# dcar-world: usage and documentation (as usage.sh checks the other tools), a small world with its summary
# line and files, byte-identical reruns, the no-op rerun, --no-pretrain-images, refusal and --force, the error lines, and the
# world read back through another tool with --layout as-is --image-root.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"
if [ ! -x "$TOOLS/dcar-world" ]; then
  echo "world: dcar-world not built (no libvips): skipped"
  exit 0
fi

# --help, --version, a bad option, and every option in the man page and completions.
expect_status 0 dcar-world --help
grep -q "^usage: dcar-world" out || fail "--help lacks a usage line"
[ ! -s err ] || fail "--help wrote to stderr"
expect_status 0 dcar-world --version
grep -q "^dcar-world [0-9]" out || fail "--version"
expect_status 2 dcar-world --no-such-option
grep -q "usage: dcar-world" err || fail "bad option without usage on stderr"
[ ! -s out ] || fail "bad option wrote to stdout"
for opt in $(dcar-world --dump-options); do
  grep -qF -- "\\-\\-${opt#--}" "$SRC/man/dcar-world.1" || grep -qF -- "$opt" "$SRC/man/dcar-world.1" || fail "$opt missing from man/dcar-world.1"
  grep -qF -- "$opt" "$SRC/completions/dcar.bash" || fail "$opt missing from completions/dcar.bash"
  grep -qF -- "$opt" "$SRC/completions/_dcar" || fail "$opt missing from completions/_dcar"
done
if ldd "$TOOLS/dcar-world" | grep -qiE 'libtorch|libc10'; then fail "dcar-world links LibTorch"; fi

# A small world (version 2): 2 families × (4 base + 2 novel) classes, one pretraining image per novel class.
small="--families 2 --base-per-family 4 --novel-per-family 2 --pretrain-per-class 3 --pretrain-per-novel 1 --train-per-class 3 --test-per-class 2 --size 32"
expect_status 0 dcar-world $small w
[ "$(cat err)" = "dcar-world: w: 12 classes, 48 images (28 pretrain, 12 train, 8 test): 48 written, 0 kept" ] \
  || fail "summary: $(cat err)"
[ ! -s out ] || fail "wrote to stdout"
for f in world.json pretrain.json train.json test.json; do [ -s "w/$f" ] || fail "no w/$f"; done
[ "$(find w/images -name '*.jpg' | wc -l)" = 48 ] || fail "image count"
[ -z "$(find w -name '.*.tmp.*')" ] || fail "temporary files left"

/usr/bin/python3 - w <<'PY' || fail "split files"
import json, os, sys
root = sys.argv[1]
world = json.load(open(f"{root}/world.json"))
assert world["complete"] is True and world["generator"] == "dcar-world"
novel = {c["name"] for c in world["classes"] if c["kind"] == "novel"}
base = {c["name"] for c in world["classes"] if c["kind"] == "base"}
assert len(novel) == 4 and len(base) == 8 and world["world_version"] == 2
assert world["splits"]["pretrain"]["classes"] == "base and novel"
for split, n_base, n_novel in (("pretrain", 3, 1), ("train", 0, 3), ("test", 0, 2)):
    records = json.load(open(f"{root}/{split}.json"))
    assert len(records) == len(base) * n_base + len(novel) * n_novel, split
    for key, r in records.items():
        assert os.path.isfile(os.path.join(root, r["file_path"])), key
        assert r["negative"] == []
        if split == "pretrain":
            assert not r["positive"].startswith("This is a"), r["positive"]
            named = r["positive"].startswith(f"{r['class_name']} {r['meta_category']}. ")
            assert not named or r["class_name"] in novel, r["positive"]
            assert not any(name in r["positive"] for name in base), r["positive"]
        else:
            assert r["class_name"] in novel
            assert r["positive"].startswith(f"This is a {r['class_name']}. "), r["positive"]
            assert r["positive"].count(".") >= 5, r["positive"]  # name, description, 3 filler sentences
PY

# --no-pretrain-images: every file of the full world, but no pretraining image; a rerun with it is a no-op, one
# without it renders just the pretraining images, and one that changes the images drops those left over.
pretrain_jpgs() { find "$1/images" -path '*/pretrain/*' -name '*.jpg' | wc -l; }
expect_status 0 dcar-world $small --no-pretrain-images np
[ "$(cat err)" = "dcar-world: np: 12 classes, 48 images (28 pretrain, 12 train, 8 test): 20 written, 0 kept; 28 pretraining images not rendered" ] \
  || fail "--no-pretrain-images summary: $(cat err)"
[ "$(pretrain_jpgs np)" = 0 ] || fail "--no-pretrain-images rendered pretraining images"
for f in world.json pretrain.json train.json test.json; do cmp -s w/$f np/$f || fail "--no-pretrain-images: $f differs"; done
diff -r w/images/train np/images/train >/dev/null && diff -r w/images/test np/images/test >/dev/null \
  || fail "--no-pretrain-images: train or test images differ"
expect_status 0 dcar-world $small --no-pretrain-images np
[ "$(cat err)" = "dcar-world: np: up to date: 12 classes, 48 images (28 pretrain, 12 train, 8 test); 28 pretraining images not rendered" ] \
  || fail "--no-pretrain-images rerun: $(cat err)"
expect_status 0 dcar-world $small np
grep -qF ": 28 written, 20 kept" err || fail "pretraining images added: $(cat err)"
diff -r w/images np/images >/dev/null || fail "pretraining images added: they differ from the full world's"
expect_status 0 dcar-world $small --no-pretrain-images np
[ "$(pretrain_jpgs np)" = 28 ] || fail "--no-pretrain-images removed the images of the same world"
expect_status 0 dcar-world $small --quality 50 --force --no-pretrain-images np  # the same paths, other pixels
[ "$(pretrain_jpgs np)" = 0 ] || fail "--force --no-pretrain-images kept another world's pretraining images"

# Version 1 as before: base classes only in pretraining, and no class name in its captions.
expect_status 0 dcar-world --world-version 1 --families 2 --base-per-family 4 --novel-per-family 2 --pretrain-per-class 3 \
  --train-per-class 3 --test-per-class 2 --size 32 wv1
[ "$(cat err)" = "dcar-world: wv1: 12 classes, 44 images (24 pretrain, 12 train, 8 test): 44 written, 0 kept" ] \
  || fail "v1 summary: $(cat err)"
/usr/bin/python3 - wv1 <<'PY' || fail "v1 split files"
import json, sys
root = sys.argv[1]
world = json.load(open(f"{root}/world.json"))
assert world["world_version"] == 1
novel = {c["name"] for c in world["classes"] if c["kind"] == "novel"}
text = open(f"{root}/pretrain.json").read()
assert not any(name in text for name in novel), "a novel class name in v1's pretrain.json"
PY
expect_status 2 dcar-world --world-version 1 --filler 2 wv1b
grep -q "need --world-version 2" err || fail "v1 with --filler: $(cat err)"

# demo/world-lexicon.tsv covers the world's attribute words: every attribute swap on the world's captions
# replaces one word by another value of the same attribute, and most captions get one.
if [ -x "$TOOLS/dcar-mine-negatives" ]; then
  dcar-mine-negatives -q --layout as-is --image-root w --swaps 0 --attributes 0 --attribute-swaps 2 \
    --attribute-lexicon "$SRC/demo/world-lexicon.tsv" -o swaps.jsonl w/train.json
  /usr/bin/python3 - "$SRC/demo/world-lexicon.tsv" "$SRC/demo" <<'PY' || fail "attribute swaps on the world"
import json, re, sys
sys.path.insert(0, sys.argv[2])
from cut_captions import read_lexicon_groups
group = read_lexicon_groups(sys.argv[1])
records = [json.loads(l) for l in open("swaps.jsonl")]
with_swaps = 0
for r in records:
    with_swaps += bool(r["negatives"])
    for n in r["negatives"]:
        a, b = re.findall(r"[A-Za-z]+", r["caption"].lower()), re.findall(r"[A-Za-z]+", n["text"].lower())
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        assert len(a) == len(b) and len(diff) == 1, (r["caption"], n["text"])
        (x, y), = diff
        assert group.get(x) and group.get(x) == group.get(y), (x, y)
assert with_swaps >= 0.8 * len(records), f"{with_swaps} of {len(records)} captions got attribute swaps"
PY
fi

# demo/world-nouns.txt holds the nouns of the world's attribute phrases: cut with it (gate G3), a caption keeps
# its family word wherever it names it, and every part count and rim value keeps the noun after it.
expect_status 0 dcar-world -q --families 6 --base-per-family 1 --novel-per-family 1 --pretrain-per-class 0 \
  --pretrain-per-novel 0 --train-per-class 1 --test-per-class 6 --size 32 --mention-class 1 wn
/usr/bin/python3 "$SRC/demo/cut_captions.py" wn/test.json "$SRC/demo/world-lexicon.tsv" "$SRC/demo/world-nouns.txt" > wn-cut.json
/usr/bin/python3 - "$SRC/demo/world-lexicon.tsv" "$SRC/demo/world-nouns.txt" "$SRC/demo" <<'PY' || fail "world-nouns.txt on the world"
import json, re, sys
sys.path.insert(0, sys.argv[3])
from cut_captions import read_lexicon_groups, read_nouns
group, nouns = read_lexicon_groups(sys.argv[1]), read_nouns(sys.argv[2])
full, cut = json.load(open("wn/test.json")), json.load(open("wn-cut.json"))
families = set()
for key, record in full.items():
    words = re.findall(r"[a-z]+", record["positive"].lower())
    kept = re.findall(r"[a-z]+", cut[key]["positive"].split(". ", 1)[1].lower())
    family = record["meta_category"]
    families.add(family)
    assert (family in words) == (family in kept), (record["positive"], cut[key]["positive"])
    for i, w in enumerate(kept):
        if group.get(w) in ("parts", "rim"):
            assert i + 1 < len(kept) and kept[i + 1] in nouns, (w, cut[key]["positive"])
assert len(families) == 6, families
PY
# The same options elsewhere, quietly, with one thread: the same bytes.
expect_status 0 dcar-world -q -t 1 $small w2
[ ! -s err ] || fail "stderr with -q: $(cat err)"
diff -r w w2 >/dev/null || fail "two runs differ"

# Again into w: nothing to do.
expect_status 0 dcar-world $small w
[ "$(cat err)" = "dcar-world: w: up to date: 12 classes, 48 images (28 pretrain, 12 train, 8 test)" ] || fail "rerun: $(cat err)"
# An image lost: made again.
rm "w/$(/usr/bin/python3 -c 'import json; print(next(iter(json.load(open("w/test.json")).values()))["file_path"])')"
expect_status 0 dcar-world $small w
grep -qF ": 1 written, 47 kept" err || fail "resume: $(cat err)"
diff -r w w2 >/dev/null || fail "resumed world differs"

# Other options: refused in one line, then replaced with --force (another seed names every class anew).
expect_status 1 dcar-world $small --seed 2 w
expect_err_line "dcar-world: w: holds a world made with other options (--seed 1, now 2); --force replaces it"
expect_status 0 dcar-world $small --seed 2 --force w
grep -qF ": 48 written, 0 kept, 48 of the replaced world removed" err || fail "--force: $(cat err)"
[ "$(find w/images -name '*.jpg' | wc -l)" = 48 ] || fail "stale images after --force"
! diff -r w w2 >/dev/null || fail "another seed gave the same world"

# Errors.
expect_status 2 dcar-world --size 8 w3
[ "$(head -1 err)" = "dcar-world: --size must be between 16 and 1024" ] || fail "bad --size: $(cat err)"
expect_status 2 dcar-world --mention-class 2 w3
[ "$(head -1 err)" = "dcar-world: --mention-class must be a probability between 0 and 1" ] || fail "bad probability: $(cat err)"
expect_status 2 dcar-world
[ "$(head -1 err)" = "dcar-world: expected one output directory OUT" ] || fail "no OUT: $(cat err)"
expect_status 2 dcar-world a b
expect_status 2 dcar-world -
[ ! -e w3 ] || fail "a usage error created OUT"
echo text > plain_file
expect_status 1 dcar-world $small plain_file
expect_err_line "dcar-world: plain_file: not a directory"
mkdir other && echo keep > other/notes.txt
expect_status 1 dcar-world $small other
expect_err_line "dcar-world: other: not empty and holds no world.json; use an empty directory, or --force"
expect_status 0 dcar-world -q $small --force other
[ "$(cat other/notes.txt)" = keep ] || fail "--force touched a file that is not the world's"

# Another tool reads the splits with --layout as-is --image-root OUT.
if [ -x "$TOOLS/dcar-mine-negatives" ]; then
  expect_status 0 dcar-mine-negatives -q --strict --layout as-is --image-root w2 w2/train.json
  [ "$(wc -l <out)" = 12 ] || fail "dcar-mine-negatives read $(wc -l <out) records"
  /usr/bin/python3 - out <<'PY' || fail "images through the manifest reader"
import json, os, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert os.path.isfile(r["image"]), r["image"]
    assert any(n["kind"] == "swap" for n in r["negatives"]), r
PY
fi
echo "world: ok"
