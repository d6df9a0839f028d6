# The demo's Python helpers on inputs whose answers are known: demo/probe.py finds an attribute the embeddings
# encode and not one they do not, and holds out whole classes for class attributes; demo/oracle.py gives the
# exact ceiling of a caption set built to one; demo/results_table.py labels rows and averages seeds;
# demo/summary.py judges the gates; demo/paired.py gives the paired interval; demo/pick_lr.py picks on
# validation R@1; demo/within_class.py splits R@1's misses by class; demo/layer_probe.py ends in dcar-embed's
# embedding.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

# 12 classes of 20 items. "shade" is a class attribute written into dimensions 0-3, "spot" a per-item
# attribute written into 4-6, "noise" a per-item attribute written nowhere. A "shade" probe that only
# recognised classes would fail: its folds hold out the classes it is tested on.
/usr/bin/python3 - <<'PY'
import json
import numpy as np
rng = np.random.default_rng(5)
items, rows, ids, captions = {}, [], [], []
for c in range(12):
    shade = ["red", "green", "blue", "grey"][c % 4]
    for i in range(20):
        spot, noise = ["a", "b", "c"][rng.integers(3)], ["p", "q"][rng.integers(2)]
        key = f"k{c:02d}_{i:02d}"
        mentioned = ["spot"] if i % 2 else []
        items[key] = {"class_name": f"class{c}", "meta_category": f"family{c % 3}",
                      "attributes": {"shade": shade, "spot": spot, "noise": noise}, "mentioned": mentioned}
        v = 0.3 * rng.standard_normal(20)
        v[c % 4] += 2
        v[4 + "abc".index(spot)] += 2
        v[8 + c] += 1
        rows.append(v)
        ids.append(f"{key}\tclass{c}")
        said = spot if mentioned else "abc"[rng.integers(3)]  # a caption that does not mention it: no signal
        captions.append(np.concatenate([v[:4], np.eye(3)[("abc".index(said))] * 2, v[7:]]))
json.dump(items, open("manifest.json", "w"))
np.save("emb.npy", np.asarray(rows, np.float32))
open("emb.ids", "w").write("\n".join(ids) + "\n")
np.save("cap.npy", np.asarray(captions, np.float32))
open("cap.ids", "w").write("\n".join(i.replace("\t", "#0\t") for i in ids) + "\n")
PY
/usr/bin/python3 "$SRC/demo/probe.py" manifest.json toy=emb.npy "toy captions=cap.npy" > probe.tsv
cell() { awk -F'\t' -v a="$1" -v c="$2" '$1 == a { print $c }' probe.tsv; }
[ "$(head -1 probe.tsv)" = "$(printf 'attribute\tvalues\tmajority\ttoy\ttoy captions')" ] || fail "probe header: $(head -1 probe.tsv)"
for a in shade spot class; do
  awk -v x="$(cell $a 4)" 'BEGIN { exit !(x >= 95) }' || fail "$a is encoded, probe gave $(cell $a 4)"
done
[ "$(cell shade 2)" = 4 ] && [ "$(cell spot 2)" = 3 ] && [ "$(cell family 2)" = 3 ] || fail "value counts: $(cat probe.tsv)"
[ "$(cell shade 3)" = 25.0 ] || fail "shade majority $(cell shade 3), expected 25.0"
awk -v x="$(cell noise 4)" -v m="$(cell noise 3)" 'BEGIN { exit !(x <= m + 10) }' || fail "noise is not encoded, probe gave $(cell noise 4)"
# Captions carry "spot" only where they mention it, and only those are probed for it.
awk -v x="$(cell spot 5)" 'BEGIN { exit !(x >= 95) }' || fail "mentioned spots are encoded, probe gave $(cell spot 5)"
# Families are classes mod 3, encoded only through the class dimensions, which held-out classes never use.
awk -v x="$(cell family 4)" 'BEGIN { exit !(x <= 45) }' || fail "family cannot be read from held-out classes, probe gave $(cell family 4)"

# The oracle: 2 classes of 4 images, colours red, red, blue, blue; the 1st and 3rd captions name the colour,
# the others only the class. Text→image: a colour caption has 2 consistent images, a class caption 4, so
# R@1 = (1/2 + 1/4) / 2 = 37.5 %. Image→text: every image has 3 consistent captions (its colour's one and the
# class's two class-only ones), one of them its own: R@1 = 33.33 %. Everything is within 5, and 10.
/usr/bin/python3 - <<'PY'
import json
items = {}
for c in ("A", "B"):
    for i, colour in enumerate(("red", "red", "blue", "blue")):
        items[f"{c}{i}"] = {"class_name": c, "positive": f"This is a {c}.", "attributes": {"colour": colour, "x": i},
                            "mentioned": ["colour"] if i % 2 == 0 else []}
json.dump(items, open("oracle.json", "w"))
PY
/usr/bin/python3 "$SRC/demo/oracle.py" oracle.json > oracle.tsv
printf 'direction\tR@1\tR@5\tR@10\ni2t\t33.33\t100.00\t100.00\nt2i\t37.50\t100.00\t100.00\n' > oracle.want
diff oracle.want oracle.tsv || fail "oracle ceiling differs"
# recall() against hand counts, and a set whose captions pin their images (two per image, each naming the
# colour that is unique within the class): the oracle is exact, 100 % both ways.
/usr/bin/python3 - "$SRC/demo" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from oracle import oracle, recall
assert abs(recall(10, 2, 1) - 0.2) < 1e-12 and abs(recall(10, 2, 5) - (1 - 56 / 252)) < 1e-12 and recall(3, 1, 5) == 1
items = {f"{c}{i}": {"class_name": c, "positive": [f"A {c}.", f"A {c}."], "attributes": {"colour": i % 2},
                     "mentioned": ["colour"]} for c in "AB" for i in range(2)}
i2t, t2i = oracle(items)
assert abs(i2t[1] - 100) < 1e-9 and abs(t2i[1] - 100) < 1e-9, (i2t, t2i)  # every caption pins its image
PY

# Cut captions: the class sentence, then the lexicon's words in order and case; the class name's own words and
# filler go.
printf 'colour\tred\ncolour\tgrey|gray\nside\tleft\n' > lexicon.tsv
/usr/bin/python3 - <<'PY'
import json
json.dump({"k": {"class_name": "red fox", "positive": "This is a red fox. A Gray one, sitting on the left of a redwood.",
                 "other": 1},
           "l": {"class_name": "kit", "positive": ["It is lovely.", "Red left."]}}, open("cut_in.json", "w"))
PY
/usr/bin/python3 "$SRC/demo/cut_captions.py" cut_in.json lexicon.tsv > cut.json
/usr/bin/python3 - <<'PY' || fail "cut captions"
import json
d = json.load(open("cut.json"))
assert d["k"]["positive"] == "This is a red fox. Gray left", d["k"]
assert d["k"]["other"] == 1 and d["l"]["positive"] == ["This is a kit.", "This is a kit. Red left"], d["l"]
PY
# With a nouns file the nouns that the values belong to stay as well, in their place.
printf '# nouns\none\nside\n' > nouns.txt
/usr/bin/python3 "$SRC/demo/cut_captions.py" cut_in.json lexicon.tsv nouns.txt > cut_nouns.json
/usr/bin/python3 - <<'PY' || fail "cut captions with nouns"
import json
d = json.load(open("cut_nouns.json"))
assert d["k"]["positive"] == "This is a red fox. Gray one left", d["k"]
PY

report() { printf '{"model": "%s", "metrics": {"i2t_recall@1": %s, "i2t_recall@5": 0.5, "i2t_recall@10": 1, "t2i_recall@1": 0.25, "t2i_recall@5": 0.5, "t2i_recall@10": 1}}\n' "$1" "$2" > "$3"; }
report dcar 0.1 s1.json
report dcar 0.3 s2.json
report coop 0.2 s3.json
/usr/bin/python3 "$SRC/demo/results_table.py" --mean s1.json s2.json "CoOp (k=4)=s3.json" > table.tsv
cat > want <<'TSV'
method	i2t R@1	i2t R@5	i2t R@10	t2i R@1	t2i R@5	t2i R@10	runs
dcar	20.0 ± 14.1	50.0 ± 0.0	100.0 ± 0.0	25.0 ± 0.0	50.0 ± 0.0	100.0 ± 0.0	2
CoOp (k=4)	20.0 ± 0.0	50.0 ± 0.0	100.0 ± 0.0	25.0 ± 0.0	50.0 ± 0.0	100.0 ± 0.0	1
TSV
diff want table.tsv || fail "results table differs"

# The summary's gates on made-up inputs: G1 fails on one weak probe, G2 and G4 pass, G3 fails by its margin.
printf 'attribute\tvalues\tmajority\timages\tcaptions\nclass\t48\t2.1\t85.0\t-\nfamily\t6\t16.7\t99.0\t100.0\nrim\t4\t25\t91.0\t95.0\nparts\t4\t25\t70.0\t98.0\nsize\t3\t33\t40.0\t92.0\n' > gprobe.tsv
printf 'direction\tR@1\tR@5\tR@10\ni2t\t51.0\t99\t100\nt2i\t72.0\t95\t98\n' > goracle.tsv
report zeroshot 0.2 z.json
report zeroshot 0.205 cut.json
report coop 0.3 c1.json
report coop 0.4 c2.json
sed -i 's/"t2i_recall@1": 0.25/"t2i_recall@1": 0.35/' c1.json c2.json
/usr/bin/python3 "$SRC/demo/summary.py" --oracle goracle.tsv --probe gprobe.tsv --class-attributes rim,parts --cut cut.json \
  zeroshot=z.json coop=c1.json coop=c2.json > summary.json
/usr/bin/python3 - <<'PY' || fail "summary gates: $(cat summary.json)"
import json
s = json.load(open("summary.json"))
g = s["gates"]
assert g["G1"]["pass"] is False and g["G1"]["failures"] == ["images read parts at 70.0 %, need 90"], g["G1"]
assert g["G2"]["pass"] is True and g["G2"]["oracle"]["t2i"]["R@1"] == 72.0, g["G2"]
assert g["G3"]["pass"] is False and abs(g["G3"]["cut_r1"]["i2t"] - 20.5) < 1e-9, g["G3"]   # 0.5 < 1 point
gain = g["G4"]["coop_minus_zeroshot_r1"]
assert g["G4"]["pass"] is True and abs(gain["i2t"] - 15) < 1e-9 and abs(gain["t2i"] - 10) < 1e-9 and g["G4"]["seeds"] == 2, g["G4"]
assert abs(s["methods"]["coop"]["mean"]["i2t"]["R@1"] - 35) < 1e-9 and len(s["methods"]["coop"]["seeds"]) == 2
PY
[ "$(/usr/bin/python3 "$SRC/demo/summary.py" --verdicts summary.json)" = "  G1: false  G2: true  G3: false  G4: true" ] \
  || fail "verdicts: $(/usr/bin/python3 "$SRC/demo/summary.py" --verdicts summary.json)"
# With a class-token column, the class token must pass the image bars too: here only its rim fails.
printf 'attribute\tvalues\tmajority\timages\tcaptions\tclass-token\nclass\t48\t2.1\t85.0\t-\t81.0\nfamily\t6\t16.7\t99.0\t100.0\t95.0\nrim\t4\t25\t91.0\t95.0\t89.0\nparts\t4\t25\t92.0\t98.0\t93.0\n' > gprobe2.tsv
/usr/bin/python3 "$SRC/demo/summary.py" --probe gprobe2.tsv --class-attributes rim,parts > summary2.json
/usr/bin/python3 - <<'PY' || fail "summary G1 with the class token: $(cat summary2.json)"
import json
g = json.load(open("summary2.json"))["gates"]["G1"]
assert g["pass"] is False and g["failures"] == ["class-token read rim at 89.0 %, need 90"], g
assert g["class_token_probed"] is True and g["probes"]["parts"]["class-token"] == 93.0, g
PY

# Paired differences: A − B = 1, 2, 3 points image→text (mean 2, std 1, t(0.975, 2) = 4.303: 2 ± 2.484) and
# 0 every time text→image.
for seed in 1 2 3; do
  report a "0.1$seed" "a$seed.json"
  report b 0.1 "b$seed.json"
done
/usr/bin/python3 "$SRC/demo/paired.py" --seeds 1,2,3 'a{seed}.json' 'b{seed}.json' > paired.tsv
printf 'direction\tmean\tstd\tlow\thigh\tseeds\ni2t\t2.00\t1.00\t-0.48\t4.48\t3\nt2i\t0.00\t0.00\t0.00\t0.00\t3\n' > paired.want
diff paired.want paired.tsv || fail "paired interval differs"

# Learning rate: the best last-epoch validation R@1 (mean of both directions), the first on a tie.
printf '{"history": [{"val_r1_i2t": 50, "val_r1_t2i": 50}, {"val_r1_i2t": 10, "val_r1_t2i": 20}]}' > lr1.json
printf '{"history": [{"val_r1_i2t": 20, "val_r1_t2i": 30}]}' > lr2.json
printf '{"history": [{"val_r1_i2t": 30, "val_r1_t2i": 20}]}' > lr3.json
/usr/bin/python3 "$SRC/demo/pick_lr.py" coop:0.002=lr1.json coop:0.0035=lr2.json coop:0.01=lr3.json > lr.tsv
[ "$(sed -n 2p lr.tsv | cut -f1,2)" = "$(printf 'coop\t0.0035')" ] || fail "pick_lr: $(cat lr.tsv)"

# demo/class_token.py: the copy's image embedding is the class token before the projection, so projecting it
# with the original visual.proj gives the original embedding's direction, and the copy is no projection of it.
if [ -x "$TOOLS/dcar-embed" ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
  /usr/bin/python3 "$SRC/demo/class_token.py" tiny.safetensors token.safetensors
  mkdir -p imgs
  /usr/bin/python3 -c "
import numpy as np
from PIL import Image
rng = np.random.default_rng(9)
for i in range(3):
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(f'imgs/{i}.png')
"
  dcar-embed -m tiny.safetensors --folder imgs --quiet -o plain.dcs
  dcar-embed -m token.safetensors --folder imgs --quiet -o token.dcs
  dcar-cat -F npy -o plain.npy plain.dcs
  dcar-cat -F npy -o token.npy token.dcs
  /usr/bin/python3 - <<'PY' || fail "class_token.py"
import json, struct
import numpy as np
with open("tiny.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
entry = header["visual.proj"]
begin, end = entry["data_offsets"]
proj = np.frombuffer(data[begin:end], dtype=np.float32 if entry["dtype"] == "F32" else np.float16).reshape(entry["shape"]).astype(np.float64)
plain, token = np.load("plain.npy").astype(np.float64), np.load("token.npy").astype(np.float64)
assert token.shape == (3, proj.shape[0]) and plain.shape == (3, proj.shape[1]), (token.shape, plain.shape, proj.shape)
projected = token @ proj
projected /= np.linalg.norm(projected, axis=1, keepdims=True)
assert np.allclose(projected, plain, atol=2e-3), np.abs(projected - plain).max()
assert not np.allclose(token[:, : plain.shape[1]], plain, atol=1e-2)
PY

  # demo/layer_probe.py: its last feature is the tower's embedding, as dcar-embed computes it, with and without
  # the convolutional stem; the depths before it are all there, one row per image.
  /usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny-stem.safetensors stem
  /usr/bin/python3 - <<'PY'
import json
import numpy as np
from PIL import Image
rng = np.random.default_rng(10)
records = {}
for i in range(4):
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(f"imgs/layer{i}.png")
    records[f"item{i}"] = {"file_path": f"imgs/layer{i}.png", "positive": "a picture", "class_name": "c"}
json.dump(records, open("layers.json", "w"))
PY
  for model in tiny tiny-stem; do
    (cd "$SRC/demo" && /usr/bin/python3 layer_probe.py "$OLDPWD/$model.safetensors" "$OLDPWD/layers.json" "$OLDPWD" "$OLDPWD/layers-$model") \
      > layers-$model.args
    dcar-embed -m $model.safetensors --manifest layers.json --layout as-is --image-root . --quiet -o layers-$model.dcs
    dcar-cat -F npy -o layers-$model.npy layers-$model.dcs
    /usr/bin/python3 - "$model" <<'PY' || fail "layer_probe.py ($model)"
import sys
import numpy as np
model = sys.argv[1]
labels = [a.split("=")[0] for a in open(f"layers-{model}.args").read().split()]
stem = ["stem1-mean", "stem1-max", "stem2-mean", "stem2-max"] if model == "tiny-stem" else []
blocks = [f"block{b}-{kind}" for b in (1, 2) for kind in ("class", "patch-mean", "patch-max")]
assert labels == stem + ["patches-mean", "patches-max"] + blocks + ["embedding"], labels
ours = np.load(f"layers-{model}/embedding.npy").astype(np.float64)
theirs = np.load(f"layers-{model}.npy").astype(np.float64)
assert ours.shape == theirs.shape == (4, 32), (ours.shape, theirs.shape)
ours /= np.linalg.norm(ours, axis=1, keepdims=True)
assert np.allclose(ours, theirs, atol=2e-3), np.abs(ours - theirs).max()
assert open(f"layers-{model}/block1-class.ids").read().split() == [f"item{i}" for i in range(4)]
assert np.load(f"layers-{model}/block2-patch-max.npy").shape == (4, 192)
PY
  done
else
  echo "demo_scripts: class_token.py and layer_probe.py not checked (no dcar-embed or no python3-torch)"
fi

# demo/compare_backbones.py: every probe and zero-shot figure within 1 point passes; one 1.5 points off fails.
/usr/bin/python3 - <<'PY'
import json
def summary(shift_rim, shift_r1):
    return {"gates": {"G1": {"probes": {"rim": {"images": 91.0 + shift_rim, "class-token": 92.0, "captions": None, "majority": 25}}}},
            "methods": {"zeroshot": {"mean": {"i2t": {"R@1": 10.0 + shift_r1, "R@5": 30.0}, "t2i": {"R@1": 8.0, "R@5": 25.0}}}}}
json.dump(summary(0, 0), open("committed.json", "w"))
json.dump(summary(-0.9, 0.8), open("close.json", "w"))
json.dump(summary(0, 1.5), open("far.json", "w"))
PY
/usr/bin/python3 "$SRC/demo/compare_backbones.py" committed.json close.json > close.tsv 2> close.err || fail "compare_backbones: within 1 point refused: $(cat close.err)"
[ "$(grep -c . close.tsv)" = 6 ] || fail "compare_backbones: $(cat close.tsv)"
if /usr/bin/python3 "$SRC/demo/compare_backbones.py" committed.json far.json > far.tsv 2> far.err; then fail "compare_backbones: 1.5 points passed"; fi
grep -q "zeroshot i2t R@1	10.0	11.5	+1.5" far.tsv || fail "compare_backbones: $(cat far.tsv)"

# demo/within_class.py: 2 classes of 2 images on the unit circle; caption i points at image i, except caption 1,
# which points between images 0 and 1, closer to 0 (one image of its class above its own), and caption 2, which
# points at image 0 (two images of the other class above its own). Same class above: 0, 1, 0, 0; other: 0, 0, 2, 0.
/usr/bin/python3 - <<'PY'
import numpy as np
angle = lambda a: [np.cos(a), np.sin(a)]
images = np.array([angle(0.0), angle(0.5), angle(1.5), angle(2.5)], dtype=np.float32)
texts = np.array([angle(0.0), angle(0.2), angle(0.0), angle(2.5)], dtype=np.float32)
np.save("wc_img.npy", images)
np.save("wc_txt.npy", texts)
open("wc_img.ids", "w").write("".join(f"i{n}\t{c}\n" for n, c in enumerate("aabb")))
open("wc_txt.ids", "w").write("".join(f"i{n}#0\t{c}\n" for n, c in enumerate("aabb")))
PY
/usr/bin/python3 "$SRC/demo/within_class.py" wc_img.npy wc_txt.npy > wc.tsv
printf 'within_class_r1\t75.0\nsame_class_above\t0.25\nother_class_above\t0.5\nr1\t50.0\n' > wc.want
diff wc.want wc.tsv || fail "within_class: $(cat wc.tsv)"
