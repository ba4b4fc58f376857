#!/usr/bin/env bash
# Results: results/lr_sweep/.
# Peak learning rate: train the student from scratch for the same number of steps at several
# learning rates (500-step warm-up, no decay), code Kodak with the real codec, compare.
# Usage: experiments/lr_sweep.sh [STEPS] [LR...]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
STEPS="${1:-2000}"; shift || true
LRS=("$@"); [ ${#LRS[@]} -eq 0 ] && LRS=(5e-4 1e-3 2e-3)
mkdir -p results/lr_sweep
for lr in "${LRS[@]}"; do
    train_and_evaluate "runs/sweep/lr_$lr" "results/lr_sweep/lr_$lr.json" "0 50 100" \
        --arch student --lr "$lr" --steps "$STEPS" --l1 1.0
done
"$PY" -m training.sweep_report results/lr_sweep/*.json \
    --anchor "results/lr_sweep/lr_${LRS[0]}.json" --out results/lr_sweep/summary.json
