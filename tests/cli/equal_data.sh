# Equal data: DCAR's mined negatives and its token table come only from the shots every method trains on,
# and held-out validation captions feed neither. Each item's caption carries a word of its own, so the source
# of every negative and every table entry can be traced: dcar-mine-negatives --shots/--val-fraction draws the
# same pool as dcar-tune --shots/--val-fraction for the same seed, dcar-weigh on its output counts only the
# shots' words, and dcar-tune --val validates on the held-out file.
source "$(dirname "$0")/lib.sh" "$@"
[ -x "$TOOLS/dcar-weigh" ] || { echo "equal_data: skipped (dcar-weigh not built)"; exit 0; }
/usr/bin/python3 -c "import torch, numpy, PIL" 2>/dev/null || { echo "equal_data: skipped (no python3-torch/numpy/pil)"; exit 0; }
export DCAR_VOCAB=${DCAR_TEST_VOCAB:?DCAR_TEST_VOCAB must name the CLIP vocabulary}
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
/usr/bin/python3 - <<'PY'
import json, os
import numpy as np
from PIL import Image
rng = np.random.default_rng(2)
words = ("apple bread chair dance eagle fence grape house island jelly kettle lemon metal night ocean "
         "piano queen river stone tiger uncle violin water yellow").split()
records, marker = {}, {}
for c, name in enumerate(("zorblat", "quindle", "mervish")):
    os.makedirs(f"img/{name}", exist_ok=True)
    for i in range(8):
        a = np.clip(rng.integers(0, 255, 3) + rng.normal(0, 30, (36, 44, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(f"img/{name}/{i}.jpg")
        item = f"{name}_{i}"
        marker[item] = words[c * 8 + i]
        records[item] = {"file_name": f"{i}.jpg", "class_name": name, "file_path": f"img/{name}/{i}.jpg",
                         "positive": f"This is a {name}. It has a {marker[item]} mark.", "negative": []}
json.dump(records, open("train.json", "w"), indent=1)
json.dump(marker, open("marker.json", "w"))
PY

# The pool: 3 shots per class, a quarter of the 24 images held out first (seed 7).
dcar-mine-negatives --quiet --layout as-is --image-root "$T" --shots 3 --val-fraction 0.25 --val-output val.jsonl \
  --seed 7 -o mined.jsonl train.json
expect_status 2 dcar-mine-negatives --val-fraction 0.25 -o x.jsonl train.json
expect_status 2 dcar-mine-negatives --shots -1 -o x.jsonl train.json
/usr/bin/python3 - <<'PY'
import json
from collections import Counter
marker = json.load(open("marker.json"))
mined = [json.loads(l) for l in open("mined.jsonl")]
val = [json.loads(l) for l in open("val.jsonl")]
shots, held = {r["id"] for r in mined}, {r["id"] for r in val}
assert len(held) == 6 and not shots & held, (shots, held)
assert Counter(r["class"] for r in mined) == {"zorblat": 3, "quindle": 3, "mervish": 3}, mined
assert all(not r["negatives"] for r in val), "held-out captions carry negatives"
positives = {r["caption"] for r in mined}
outside = {w for item, w in marker.items() if item not in shots}
kinds = Counter()
for r in mined:
    for n in r["negatives"]:
        kinds[n["kind"]] += 1
        if n["kind"] == "attribute":
            assert n["text"] in positives, f"attribute negative from outside the shots: {n['text']}"
        bad = [w for w in outside if f" {w} " in n["text"]]
        assert not bad, f"negative of {r['id']} carries {bad}, a word of an image outside the shots"
assert kinds["attribute"] > 0 and kinds["swap"] > 0, kinds
json.dump(sorted(shots), open("shots.json", "w"))
PY

# The table: dcar-weigh on the shots counts the shots' words and nothing else.
dcar-weigh -m tiny.safetensors --threads 1 --quiet -o table.safetensors mined.jsonl
/usr/bin/python3 - <<'PY' > words.tsv
import json
shots = set(json.load(open("shots.json")))
for item, w in json.load(open("marker.json")).items():
    print(f"{w}\t{'shot' if item in shots else 'outside'}")
PY
while IFS=$'\t' read -r word where; do
  dcar-weigh --explain "$word" --table table.safetensors | awk -F'\t' -v w="$where" 'NR > 1 {print $3 "\t" w}'
done < words.tsv > ids.tsv
/usr/bin/python3 - <<'PY'
import json, struct
import numpy as np
raw = open("table.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
begin, end = header["dtr.count"]["data_offsets"]
count = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=np.int64)
seen = {"shot": [], "outside": []}
for line in open("ids.tsv"):
    token, where = line.split()
    seen[where].append(int(count[int(token)]))
assert all(c > 0 for c in seen["shot"]), f"a shot's word never reached the table: {seen['shot']}"
assert all(c == 0 for c in seen["outside"]), f"the table counts words of images outside the shots: {seen['outside']}"
PY

# dcar-tune draws the same shots: on the whole manifest with the same seed and fractions it trains on 9
# captions and validates on 6, and on the pool it keeps all 9; --val takes the held-out file.
tune=(dcar-tune --method coop -m tiny.safetensors --epochs 1 --batch 4 --threads 1 --seed 7 --shots 3)
expect_status 0 "${tune[@]}" --layout as-is --image-root "$T" --val-fraction 0.25 -o whole train.json
grep -q "on 9 captions" err && grep -q "validating on 6 captions" err || fail "dcar-tune's split: $(grep -i 'training on' err)"
expect_status 0 "${tune[@]}" --val val.jsonl -o pool mined.jsonl
grep -q "on 9 captions" err && grep -q "validating on 6 captions" err || fail "dcar-tune on the pool: $(grep -i 'training on' err)"
expect_status 2 "${tune[@]}" --val mined.jsonl -o overlap mined.jsonl
grep -q "is also in the training input" err || fail "$(cat err)"
expect_status 2 "${tune[@]}" --val val.jsonl --val-fraction 0.1 -o both mined.jsonl
# An output directory whose name is not UTF-8 is written like any other (its JSON replaces the bad byte).
odd="run$(printf '\377')"
expect_status 0 "${tune[@]}" -o "$odd" mined.jsonl
[ -f "$odd/checkpoint.json" ] || fail "no checkpoint in a directory with a non-UTF-8 name"
# The model tools refuse to write over their inputs.
expect_status 2 dcar-weigh -m tiny.safetensors -o mined.jsonl mined.jsonl
grep -q "mined.jsonl: is both an input and the output" err || fail "$(cat err)"
expect_status 2 "${tune[@]}" --step-log val.jsonl --val val.jsonl -o steps mined.jsonl
grep -q "val.jsonl: is both an input and the output" err || fail "$(cat err)"
echo "equal_data: ok"
