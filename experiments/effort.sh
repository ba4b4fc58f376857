#!/usr/bin/env bash
# Encoder effort (licc encode --effort): code the first N Kodak images with the shipped student
# at each effort level, real files, then BD-rate and encode time against effort 0.
# Usage: [N=6] [EFFORTS="0 1 2"] experiments/effort.sh   (pause training runs first)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
N="${N:-6}"
mkdir -p results/effort
for e in ${EFFORTS:-0 1 2}; do
    report="results/effort/effort_$e.json"
    if [ -f "$report" ]; then echo "$report exists: kept"; continue; fi
    "$PY" -m lic_codec.evaluate --quality 0 25 50 75 100 --limit "$N" --threads "${THREADS:-2}" \
        --effort "$e" --out "$report"
done
"$PY" -m lic_codec.train.sweep_report results/effort/effort_*.json \
    --anchor results/effort/effort_0.json --out results/effort/summary.json
