#!/usr/bin/env bash
# Results: results/limits_memory.txt (quoted in results/robustness.md, "Memory at the limits").
# Issue 42, item 9: wall time and peak memory of `licc encode` and `licc decode` at 16 and
# 64 megapixels (the largest image licc accepts), on a photo made by tiling the Kodak set
# (natural content at every scale of the tiling), the shipped student, 2 threads:
#   experiments/limits_memory.sh [KODAK_DIR]     (with the venv active; pause training first)
set -eu
KODAK=${1:-../shared/data/kodak}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "# $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "# command: experiments/limits_memory.sh $KODAK"
for side in 4096 8192; do
  python - "$KODAK" "$TMP/in_$side.png" "$side" <<'PY'
import sys
from pathlib import Path
from PIL import Image
paths = sorted(Path(sys.argv[1]).glob("*.png"))
side = int(sys.argv[3])
canvas = Image.new("RGB", (side, side))
i = 0
for y in range(0, side, 512):
    for x in range(0, side, 768):
        canvas.paste(Image.open(paths[i % len(paths)]).convert("RGB").crop((0, 0, 768, 512)), (x, y))
        i += 1
canvas.save(sys.argv[2], compress_level=1)
PY
  mp=$((side * side / 1048576))
  /usr/bin/time -f "encode ${side}x${side} (${mp} MP): %e s, peak %M KB" \
    licc encode -f -q 50 "$TMP/in_$side.png" "$TMP/out_$side.licc" --threads 2 2>&1 | tail -1
  echo "  file: $(stat -c %s "$TMP/out_$side.licc") bytes"
  /usr/bin/time -f "decode ${side}x${side} (${mp} MP): %e s, peak %M KB" \
    licc decode -f "$TMP/out_$side.licc" "$TMP/back_$side.png" --threads 2 2>&1 | tail -1
done
