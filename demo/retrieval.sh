#!/usr/bin/env bash
# The retrieval half of dcar on generated embeddings: images and captions of 24 fine classes in 4 families
# (captions are their image's vector seen through noise, so retrieval is meaningful but imperfect), then
#   .npy → stream (dcar-cat) → IVF index (dcar-index) → text→image search (dcar-query) → Recall@K (dcar-score).
# Usage: demo/retrieval.sh BUILD_DIR OUT_DIR. Re-running reuses what is already there.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
OUT=${2:-demo-out}
PATH="$BUILD:$PATH"
mkdir -p "$OUT"
cd "$OUT"
step() { printf '\n== %s\n' "$*" >&2; }

if [ ! -f images.npy ]; then
  step "generating 24 classes × 60 image/caption pairs (dimension 256)"
  /usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(2026)
families, per_family, per_class, d = 4, 6, 60, 256
family = rng.standard_normal((families, d))
classes = [(f, family[f] + 0.8 * rng.standard_normal(d)) for f in range(families) for _ in range(per_family)]
images, captions, ids, labels = [], [], [], []
for c, (f, centre) in enumerate(classes):
    for i in range(per_class):
        img = centre + 0.9 * rng.standard_normal(d)
        images.append(img)
        captions.append(centre + 0.1 * (img - centre) + 1.0 * rng.standard_normal(d))
        ids.append(f"img{c:02d}_{i:03d}")
        labels.append(f"class{c:02d}")
np.save("images.npy", np.asarray(images, np.float32))
np.save("captions.npy", np.asarray(captions, np.float32))
with open("images.ids", "w") as f:
    f.writelines(f"{i}\t{l}\n" for i, l in zip(ids, labels))
with open("captions.ids", "w") as f:
    f.writelines(f"{i}#0\t{l}\n" for i, l in zip(ids, labels))
PY
fi

step "dcar-cat: .npy → embedding streams"
dcar-cat -q --modality image --format dcs --normalize -o images.dcs images.npy
dcar-cat -q --modality text --format dcs --normalize -o captions.dcs captions.npy
dcar-cat -H images.dcs | head -5

step "dcar-index build: IVF16,Flat over the images"
dcar-index build -f IVF16,Flat -o images.dci images.dcs
dcar-index info images.dci | grep -v provenance

step "dcar-query: the 3 best images for the first two captions"
dcar-query -i images.dci --nprobe 4 -k 3 captions.dcs | head -6

step "dcar-score: Recall@K in both directions (exact, all pairs)"
dcar-score --images images.dcs --texts captions.dcs --dataset demo --plot recall.svg
echo >&2
echo "Recall@K plot: $OUT/recall.svg" >&2
