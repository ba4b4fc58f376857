#!/usr/bin/env bash
# Results: results/crop_batch/.
# Crop size at equal pixels per step: fine-tune the same student checkpoint for the same
# number of steps on 8 crops of 128x128 or on 2 crops of 256x256 (L1 = 0), code Kodak with
# the real codec, compare. Usage: experiments/crop_batch.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
STEPS="${1:-2000}"
mkdir -p results/crop_batch
for pb in "128 8" "256 2"; do
    set -- $pb
    train_and_evaluate "runs/sweep/crop_$1_$2" "results/crop_batch/p$1_b$2.json" \
        "0 25 50 75 100" --init "$INIT" --l1 0 --lr 1e-4 --steps "$STEPS" --patch "$1" --batch "$2"
done
"$PY" -m training.sweep_report results/crop_batch/*.json \
    --anchor results/crop_batch/p128_b8.json --out results/crop_batch/summary.json
