#!/usr/bin/env bash
# Reading big manifests: FDRD JSON (pretty-printed as released, and compact on one line) against the same
# records as JSON lines, at 8k, 32k and 158k records, through dcar-mine-negatives with no negatives asked for
# (so the time is the reader's, plus writing the records out). Prints TSV: format, records, seconds, peak MB.
# Usage: bench/manifest.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
OUT=${OUT:-$(cd "$(dirname "$0")" && pwd)/out/manifest}
mkdir -p "$OUT"
printf 'format\trecords\tseconds\tmax_rss_mb\n'
for n in 8000 32000 158000; do
  /usr/bin/python3 - "$OUT" "$n" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
d = {f"cat_{i}": {"file_name": f"cat_{i}.jpg", "class_name": "cat", "file_path": f"x/{i}.jpg",
                  "positive": f"a cat number {i} sitting on a mat", "negative": [f"a dog number {i}"]} for i in range(n)}
json.dump(d, open(f"{out}/pretty{n}.json", "w"), indent=1)
json.dump(d, open(f"{out}/compact{n}.json", "w"))
with open(f"{out}/lines{n}.jsonl", "w") as f:
    for k, v in d.items():
        f.write(json.dumps({"id": k, "image": v["file_path"], "caption": v["positive"], "class": "cat"}) + "\n")
PY
  for format in pretty compact lines; do
    file=$(ls "$OUT/$format$n".json* | head -1)
    /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$BUILD/dcar-mine-negatives" -q --layout as-is --swaps 0 --attributes 0 \
      -o /dev/null "$file"
    read -r wall rss < "$OUT/time.txt"
    printf '%s\t%s\t%s\t%s\n' "$format" "$n" "$wall" "$((rss / 1024))"
  done
done
