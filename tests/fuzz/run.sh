#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time. Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# New crashing inputs are copied to tests/fuzz/regress/<target>/, which ctest replays on every build.
set -euo pipefail
BUILD=$1; SECONDS_EACH=${2:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
status=0
for target in stream npy manifest config safetensors webdataset pickle index checkpoint; do
  work=$(mktemp -d)
  cp -r "$HERE/corpus/$target/." "$work/" 2>/dev/null || true
  echo "== fuzzing $target for ${SECONDS_EACH}s"
  if ! "$BUILD/tests/${target}_fuzz" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$work" 2>"$BUILD/${target}_fuzz.log"; then
    status=1
    tail -30 "$BUILD/${target}_fuzz.log"
  fi
  tail -1 "$BUILD/${target}_fuzz.log" || true
  for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -e "$crash" ] || continue
    mkdir -p "$HERE/regress/$target"
    cp "$crash" "$HERE/regress/$target/"
    echo "kept $(basename "$crash") in tests/fuzz/regress/$target/"
  done
  rm -rf "$work"
done
exit $status
