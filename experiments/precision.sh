#!/usr/bin/env bash
# Results: results/precision/.
# bf16 autocast vs fp32 training: fine-tune the same student checkpoint for the same number of
# steps both ways (L1 = 0), code Kodak with the real codec, compare BD-rate and step time.
# Usage: experiments/precision.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
STEPS="${1:-1000}"
mkdir -p results/precision
train_and_evaluate runs/sweep/precision_bf16 results/precision/bf16.json "0 25 50 75 100" \
    --init "$INIT" --l1 0 --lr 1e-4 --steps "$STEPS"
train_and_evaluate runs/sweep/precision_fp32 results/precision/fp32.json "0 25 50 75 100" \
    --init "$INIT" --l1 0 --lr 1e-4 --steps "$STEPS" --fp32
"$PY" -m training.sweep_report results/precision/*.json \
    --anchor results/precision/fp32.json --out results/precision/summary.json
