#!/usr/bin/env bash
# Results: results/branch_merge/ (results/training.md, branch and merge).
# One round of branch-and-merge on two cores (training/merge.py): branch RUN with data
# seed SEED, train RUN and the branch to step STEP (one core each, the same flags), merge the
# branch back into RUN, and code the first 12 Kodak images with the merged weights (their
# moving average, as the trainer's evaluations do). The two runs' own evaluations at STEP
# (in their eval.tsv, with --eval-every dividing STEP) are the comparison:
#
#   experiments/branch_merge.sh runs/student_v4 7 168000 --lr 1e-4 --ema 0.999 \
#       --eval-every 3000 --eval-images 12 --loss-power 2 --compile
#
# RUN's checkpoint before the merge is kept in runs/sweep/<name>_s<SEED>_premerge/ (restore it
# with cp when the merge loses). Pause nothing else: this takes both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
RUN="$1" SEED="$2" STEP="$3"
shift 3
NAME="$(basename "$RUN")"
BRANCH="runs/sweep/${NAME}_s${SEED}"
KEEP="runs/sweep/${NAME}_s${SEED}_premerge"
"$PY" -m training.merge branch "$RUN" "$BRANCH" --seed "$SEED"
"$PY" -m training rd --run "$RUN" --steps "$STEP" --threads 1 "$@" & trunk=$!
"$PY" -m training rd --run "$BRANCH" --steps "$STEP" --threads 1 "$@" & side=$!
wait "$trunk"; wait "$side"  # either one failing stops the script (set -e)
mkdir -p "$KEEP"
cp "$RUN"/ckpt.pt "$RUN"/opt.pt "$KEEP"/
"$PY" -m training.merge merge "$RUN" "$BRANCH"
tmp="$(mktemp -d)"
"$PY" -m training.export "$RUN/ckpt.pt" --out-dir "$tmp"
mkdir -p results/branch_merge
REPORT="results/branch_merge/${NAME}_s${SEED}_${STEP}.json"
"$PY" -m lic_codec.evaluate --weights "$tmp" --quality 0 25 50 75 100 --limit 12 --threads 1 \
    --out "$REPORT"
rm -rf "$tmp"
# each run's own evaluation at STEP against the merge: positive = the merge codes smaller
"$PY" -m training.curve "$RUN" "$BRANCH" --against "$REPORT" --since "$STEP"
