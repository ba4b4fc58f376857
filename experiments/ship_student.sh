#!/usr/bin/env bash
# Results: weights/manifest.json, results/student_*_kodak24.json.
# Ship a student: a short branch of runs/student_v2 at a low learning rate (the decay), exported
# in float16 over weights/student.pt (the previous weights move to weights/retired/), a golden
# file for the new weights, and the full Kodak evaluation recorded in the manifest.
# Usage: experiments/ship_student.sh [STEPS] [LR]    (stop or pause other training first for
# the evaluation's timings; `licc bench --write-results` afterwards for the BD-rates)
# FROM=CKPT ships from another run; STEPS=0 exports FROM as it is (a run that annealed its
# learning rate itself, e.g. with --lr-cosine-to). L1, PATCH, BATCH: the branch's training
# settings (default: the trunk's since 2026-11-30, L1 0 on 2 crops of 256 px).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
STEPS="${1:-2000}"; LR="${2:-2e-5}"
FROM="${FROM:-runs/student_v2/ckpt.pt}"
if [ "$STEPS" -gt 0 ]; then
    AT="$("$PY" -c "import torch; print(torch.load('$FROM', weights_only=False)['step'])")"
    RUN="runs/sweep/student_ship_$AT"   # a fresh run: --init applies only to a new directory
    "$PY" -m training rd --arch student --init "$FROM" --run "$RUN" --lr "$LR" \
        --l1 "${L1:-0}" --patch "${PATCH:-256}" --batch "${BATCH:-2}" \
        --steps "$STEPS" --eval-every "$STEPS" --threads "${THREADS:-2}"
    FROM="$RUN/ckpt.pt"
fi
"$PY" -m training.export "$FROM" --name student --half
"$PY" experiments/make_golden.py
"$PY" -m lic_codec.evaluate --quality 0 10 20 25 30 40 50 60 70 75 80 90 100 \
    --out results/kodak_student_eval.json
"$PY" -m training.export --name student --kodak results/kodak_student_eval.json
