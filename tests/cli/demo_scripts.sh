# The demo's Python helpers on inputs whose answers are known: demo/probe.py finds an attribute the embeddings
# encode and not one they do not, and holds out whole classes for class attributes; demo/results_table.py
# labels rows and averages seeds.
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
