#!/usr/bin/env bash
# Results: results/robustness.md.
# Issue 42, items 1 and 2: time and peak memory of a decompression bomb (encode) and of a
# forged .licc header (decode), before and after, in one run:
#   git worktree add /tmp/old 6af8b8a && experiments/hostile_before_after.sh
# (OLD: the checkout before the fixes; NEW: this one. Run with the venv active.)
set -u
OLD=${OLD:-/tmp/old}
NEW=${NEW:-$(cd "$(dirname "$0")/.." && pwd)}
python -c "from PIL import Image; Image.new('L', (13000, 13000)).save('/tmp/bomb.png', optimize=True)"
for tree in "$OLD" "$NEW"; do
  echo "== $tree: licc encode bomb.png (13000x13000, $(stat -c %s /tmp/bomb.png) bytes)"
  (cd /tmp && PYTHONPATH=$tree /usr/bin/time -f "%e s, peak %M KB" python -m lic_codec encode -f /tmp/bomb.png /tmp/bomb.licc 2>&1 | tail -2)
  # a real file of the shipped student, header forged to 8192x8192 (CRC recomputed)
  (cd /tmp && PYTHONPATH=$tree python - "$NEW/tests/data/parrots.png" <<'PY'
import struct, sys
from PIL import Image
from lic_codec import fuzz
from lic_codec.api import encode
valid = encode(Image.open(sys.argv[1]).convert('RGB'), quality=50)
parts = fuzz.split(valid)
img_at = 33 + len(parts['header'].model_name)
open('/tmp/forged.licc', 'wb').write(fuzz._reseal(parts, lambda b: struct.pack_into('<II', b, img_at, 8192, 8192)))
PY
  )
  echo "== $tree: licc decode forged.licc (8192x8192 claimed, $(stat -c %s /tmp/forged.licc) bytes)"
  (cd /tmp && PYTHONPATH=$tree /usr/bin/time -f "%e s, peak %M KB" python -m lic_codec decode -f /tmp/forged.licc /tmp/forged.png 2>&1 | tail -2)
done
