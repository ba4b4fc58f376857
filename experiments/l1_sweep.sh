#!/usr/bin/env bash
# Results: results/l1_sweep/.
# L1 sparsity weight: fine-tune the same student checkpoint for the same number of steps with
# several L1 weights, code Kodak with the real codec and compare (skipped channels, times,
# BD-rate against L1 = 0). Usage: experiments/l1_sweep.sh [STEPS] [WEIGHT...]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
STEPS="${1:-2000}"; shift || true
WEIGHTS=("$@"); [ ${#WEIGHTS[@]} -eq 0 ] && WEIGHTS=(0 0.1 0.3 1.0)
mkdir -p results/l1_sweep
for w in "${WEIGHTS[@]}"; do
    train_and_evaluate "runs/sweep/l1_$w" "results/l1_sweep/l1_$w.json" "0 25 50 75 100" \
        --init "$INIT" --l1 "$w" --lr 1e-4 --steps "$STEPS"
done
"$PY" -m training.sweep_report results/l1_sweep/l1_*.json \
    --anchor results/l1_sweep/l1_0.json --out results/l1_sweep/summary.json
