#!/usr/bin/env bash
# Results: results/effort*/ (results/history.md, the effort sections).
# Encoder effort (licc encode --effort): code the first N Kodak images with the shipped student
# at each effort level, real files, then BD-rate and encode time against effort 0.
# Usage: [N=6] [EFFORTS="0 1 2"] [OUT=results/effort] experiments/effort.sh   (pause training runs
# first)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
N="${N:-6}"
OUT="${OUT:-results/effort}"
mkdir -p "$OUT"
for e in ${EFFORTS:-0 1 2}; do
    report="$OUT/effort_$e.json"
    if [ -f "$report" ]; then echo "$report exists: kept"; continue; fi
    "$PY" -m lic_codec.evaluate --quality 0 25 50 75 100 --limit "$N" --threads "${THREADS:-2}" \
        --effort "$e" --out "$report"
done
"$PY" -m training.sweep_report "$OUT"/effort_*.json \
    --anchor "$OUT/effort_0.json" --out "$OUT/summary.json"
