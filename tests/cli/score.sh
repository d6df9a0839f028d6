# dcar-score on a toy case worked out by hand (the same one as tests/unit/metrics_test.cpp): the exact table,
# the JSON values, the SVG plot, ground truth by label and by manifest, exclusions (exit 3), stdin input, and
# the usage and mismatch errors.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

# Images are the unit axes; captions before normalisation are a#0 = (1,1,0), b#0 = (2,1,0), c#0 = (0,0,1).
# i2t: a ranks a#0 behind b#0 (.707 < .894), b ranks b#0 behind a#0 (.447 < .707), c is first → R@1 = 1/3.
# t2i: a#0 ties a with b (optimistic 0, pessimistic 1), b#0 finds a first (1), c#0 first → R@1 = 2/3 (1/3).
/usr/bin/python3 - <<'PY'
import numpy as np
np.save("img.npy", np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32))
np.save("txt.npy", np.array([[1, 1, 0], [2, 1, 0], [0, 0, 1]], dtype=np.float32))
np.save("txt4.npy", np.ones((3, 4), dtype=np.float32))
np.save("more.npy", np.array([[1, 1, 0], [2, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=np.float32))
PY
printf 'a\tcat\nb\tcat\nc\tdog\n' > img.ids
printf 'a#0\nb#0\nc#0\n' > txt.ids
printf 'a#0\nb#0\nc#0\nzz#0\n' > more.ids

expect_status 0 dcar-score -q --images img.npy --texts txt.npy --per-class --dataset toy
cat > want <<'EOF'
dataset: toy  model: unknown
images: 3  captions: 3  pairs: 3

direction          R@1     R@5    R@10  mean rank  median rank  N
i2t              33.33  100.00  100.00       1.67          2.0  3
i2t pessimistic  33.33  100.00  100.00       1.67          2.0  3
t2i              66.67  100.00  100.00       1.33          1.0  3
t2i pessimistic  33.33  100.00  100.00       1.67          2.0  3

class  images  captions  i2t R@1  i2t R@5  i2t R@10  t2i R@1  t2i R@5  t2i R@10
cat         2         2     0.00   100.00    100.00    50.00   100.00    100.00
dog         1         1   100.00   100.00    100.00   100.00   100.00    100.00
EOF
diff want out || fail "table differs"
[ ! -s err ] || fail "stderr with -q: $(cat err)"

# JSON: one record; values checked numerically. -k takes a list and may repeat.
expect_status 0 dcar-score --images img.npy --texts txt.npy --json -k 2 -k 1,5 --dataset toy --model clip --pretrained laion2b --language de --plot curves.svg
[ "$(wc -l <out)" = 1 ] || fail "JSON is not one line"
/usr/bin/python3 - out <<'PY' || fail "JSON values"
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
def near(a, b): return abs(a - b) < 1e-12
checks = [
    r["dataset"] == "toy", r["model"] == "clip", r["task"] == "zeroshot_retrieval",
    r["pretrained"] == "laion2b", r["language"] == "de",
    list(r)[:6] == ["dataset", "model", "pretrained", "task", "metrics", "language"],  # CLIP_benchmark's keys
    near(m["image_retrieval_recall@1"], 2 / 3), near(m["text_retrieval_recall@1"], 1 / 3),
    near(m["image_retrieval_recall@2"], 1), near(m["text_retrieval_recall@5"], 1),
    near(m["t2i_recall_pessimistic@1"], 1 / 3), near(m["i2t_mean_rank"], 5 / 3), m["i2t_median_rank"] == 2,
    near(m["t2i_mean_rank_pessimistic"], 5 / 3), "image_retrieval_recall@10" not in m,
    r["counts"] == {"images": 3, "texts": 3, "pairs": 3, "images_excluded": 0, "texts_excluded": 0, "manifest_skipped": 0},
    near(r["per_class"]["cat"]["t2i_recall@1"], 0.5), r["per_class"]["dog"]["images"] == 1,
]
bad = [i for i, ok in enumerate(checks) if not ok]
if bad: sys.exit(f"failed checks {bad}: {r}")
PY
grep -q '<path id="i2t"' curves.svg && grep -q '<path id="t2i"' curves.svg || fail "plot lacks a curve"
tail -1 curves.svg | grep -q '^</svg>$' || fail "plot not closed"
/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' curves.svg || fail "plot is not XML"

# One input from stdin (a dcar stream keeps the ids; a bare .npy on stdin has no sidecar), and -o FILE.
dcar-cat --format dcs img.npy | dcar-score -q --images - --texts txt.npy -o report.txt
sed -n 5p report.txt | grep -q '^i2t  *33.33  *100.00' || fail "stdin run: $(cat report.txt)"

# By label: captions carry the class as their label; c1 and c2 are cats, d1 a dog.
/usr/bin/python3 - <<'PY'
import numpy as np
np.save("li.npy", np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32))
np.save("lt.npy", np.array([[1, 0], [0, 1]], dtype=np.float32))
PY
printf 'c1\tcat\nc2\tcat\nd1\tdog\n' > li.ids
printf 'tc\tcat\ntd\tdog\n' > lt.ids
expect_status 0 dcar-score -q --images li.npy --texts lt.npy --by-label -k 1 --json
/usr/bin/python3 -c '
import json, sys
m = json.load(open("out"))["metrics"]
assert abs(m["i2t_recall@1"] - 2 / 3) < 1e-12 and m["t2i_recall@1"] == 1, m' || fail "by-label values"

# A manifest as ground truth (TSV), with classes from it.
printf 'id\tcaption\tclass\na\tx\tpets\nb\ty\tpets\nc\tz\tcars\n' > m.tsv
expect_status 0 dcar-score -q --images img.npy --texts txt.npy --manifest m.tsv --json
/usr/bin/python3 -c '
import json
r = json.load(open("out"))
assert sorted(r["per_class"]) == ["cars", "pets"] and r["per_class"]["pets"]["t2i_recall@1"] == 0.5, r' || fail "manifest values"

# A caption without its image is excluded with a warning: results as before, exit 3 (partial).
expect_status 3 dcar-score --images img.npy --texts more.npy --json
grep -qF "warning: 1 caption of more.npy without an image in img.npy excluded (e.g. zz#0)" err || fail "exclusion warning: $(cat err)"
/usr/bin/python3 -c '
import json
r = json.load(open("out"))
assert r["counts"]["texts_excluded"] == 1 and abs(r["metrics"]["i2t_recall@1"] - 1 / 3) < 1e-12, r' || fail "values with exclusion"

# Errors: usage (exit 2), --help (exit 0, stdout), mismatched dimensions (exit 1, one line), nothing to score.
expect_status 2 dcar-score --images img.npy --texts txt.npy --no-such-option
grep -q "^usage: dcar-score" err || fail "usage line"
expect_status 2 dcar-score --images img.npy
expect_status 2 dcar-score --images img.npy --texts txt.npy -k 0
grep -q "^dcar-score: --recall-at: '0' is not a positive integer$" err || fail "bad K message: $(cat err)"
expect_status 2 dcar-score --images img.npy --texts txt.npy --by-label --manifest m.tsv
expect_status 0 dcar-score --help
grep -q "^usage: dcar-score" out && [ ! -s err ] || fail "--help"
expect_status 1 dcar-score --images img.npy --texts txt4.npy
expect_err_line "dcar-score: txt4.npy: dimension 4 does not match img.npy (dimension 3)"
expect_status 1 dcar-score --images img.npy --texts img.npy
expect_err_line "no image-caption pairs to evaluate"
expect_status 1 dcar-score --images img.npy --texts missing.npy
expect_err_line "missing.npy"
# A bad manifest record: reported and skipped (exit 3), or fatal with --strict (exit 1, one line naming it).
printf 'id\tcaption\tclass\na\tx\tpets\nb\ty\tpets\nc\tz\tcars\nc\tdup\tcars\n' > bad.tsv
expect_status 3 dcar-score -q --images img.npy --texts txt.npy --manifest bad.tsv
expect_status 1 dcar-score -q --images img.npy --texts txt.npy --manifest bad.tsv --strict
expect_err_line "bad.tsv"
echo "score: ok"
