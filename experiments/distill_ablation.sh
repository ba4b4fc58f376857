#!/usr/bin/env bash
# Results: results/distill_ablation/.
# Distillation ablation at an equal number of student training steps S, all arms from the same
# random initialisation and data order, all against one frozen copy of the teacher:
#   scratch   rate-distortion only, S steps
#   abc       (a) feature alignment S/4, (b) channel-level latent + reconstruction S/4,
#             (c) rate-distortion fine-tuning S/2
#   bc        (b) S/2, (c) S/2          (without feature alignment)
#   ac        (a) S/2, (c) S/2          (without latent/reconstruction distillation)
#   abc_l1_0  as abc, without the L1 sparsity penalty
# then codes Kodak with the real codec and tabulates BD-rate against scratch.
# Usage: experiments/distill_ablation.sh [S] [ARM...]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
S="${1:-8000}"; shift || true
ARMS=("$@"); [ ${#ARMS[@]} -eq 0 ] && ARMS=(scratch abc bc ac abc_l1_0)
OUT=results/distill_ablation
mkdir -p "$OUT" runs/sweep
TEACHER=runs/sweep/teacher_frozen.pt
[ -f "$TEACHER" ] || cp runs/teacher/ckpt.pt "$TEACHER"
Q="0 25 50 75 100"

for arm in "${ARMS[@]}"; do
    d="runs/sweep/ablation_$arm"
    l1=(); [ "$arm" = abc_l1_0 ] && l1=(--l1 0)
    case "$arm" in
        scratch) train_and_evaluate "$d" "$OUT/$arm.json" "$Q" --arch student --steps "$S" ;;
        abc|abc_l1_0)
            distill_stage "$d/a" a $((S / 4)) "" "${l1[@]}"
            distill_stage "$d/b" b $((S / 4)) "$d/a/ckpt.pt" "${l1[@]}"
            train_and_evaluate "$d/c" "$OUT/$arm.json" "$Q" --init "$d/b/ckpt.pt" \
                --steps $((S / 2)) "${l1[@]}" ;;
        bc)
            distill_stage "$d/b" b $((S / 2)) ""
            train_and_evaluate "$d/c" "$OUT/$arm.json" "$Q" --init "$d/b/ckpt.pt" --steps $((S / 2)) ;;
        ac)
            distill_stage "$d/a" a $((S / 2)) ""
            train_and_evaluate "$d/c" "$OUT/$arm.json" "$Q" --init "$d/a/ckpt.pt" --steps $((S / 2)) ;;
        *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
done
"$PY" -m training.sweep_report "$OUT"/*.json --anchor "$OUT/scratch.json" \
    --out "$OUT/summary.json"
