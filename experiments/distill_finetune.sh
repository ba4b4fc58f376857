#!/usr/bin/env bash
# Results: results/distill_finetune/, results/distill_finetune_t37k/.
# Does distillation improve the trained student? Every arm starts from the same student
# checkpoint (STUDENT_SRC) and trains S steps at the ship recipe's learning rate (LR, with L1 1.0),
# against one frozen teacher (TEACHER_SRC, a teacher that codes Kodak better than the student):
#   rd        rate-distortion only, S steps (what shipping does)
#   b         (b) channel-level latent + reconstruction distillation, S steps
#   abc       (a) feature alignment S/4, (b) S/4, (c) rate-distortion S/2
#   ac        (a) S/2, (c) S/2
#   bc        (b) S/2, (c) S/2
#   b_l1_0    as b, without the L1 sparsity penalty
# Adapters start as channel embeddings (--adapters embed): the teacher was widened from the
# student, so student channel i is teacher channel i. Then codes Kodak with the real codec and
# tabulates BD-rate against rd. The experiments/distill_ablation.sh arms start from scratch.
# Usage: [STUDENT_SRC=CKPT] [TEACHER_SRC=CKPT] [OUT=DIR] experiments/distill_finetune.sh [S] [ARM...]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
S="${1:-2000}"; shift || true
ARMS=("$@"); [ ${#ARMS[@]} -eq 0 ] && ARMS=(rd b abc ac bc b_l1_0)
LR="${LR:-1e-5}"
OUT="${OUT:-results/distill_finetune}"  # a new comparison: a new OUT, old sweep dirs removed
mkdir -p "$OUT" runs/sweep
STUDENT=runs/sweep/finetune_student.pt
frozen "$STUDENT" "${STUDENT_SRC:-runs/student_v2/ckpt.pt}"
TEACHER=runs/sweep/teacher_v2_frozen.pt
frozen "$TEACHER" "${TEACHER_SRC:-runs/teacher_v2/ckpt.pt}"
Q="0 25 50 75 100"
COMMON=(--lr "$LR")

for arm in "${ARMS[@]}"; do
    d="runs/sweep/finetune_$arm"
    report="$OUT/$arm.json"
    if [ -f "$report" ]; then echo "$report exists: kept"; continue; fi
    case "$arm" in
        rd) train_and_evaluate "$d" "$report" "$Q" --init "$STUDENT" --steps "$S" "${COMMON[@]}" ;;
        b|b_l1_0)
            l1=(); [ "$arm" = b_l1_0 ] && l1=(--l1 0)
            distill_stage "$d" b "$S" "$STUDENT" --adapters embed "${COMMON[@]}" "${l1[@]}"
            evaluate_run "$d" "$report" "$Q" ;;
        abc)
            distill_stage "$d/a" a $((S / 4)) "$STUDENT" --adapters embed "${COMMON[@]}"
            distill_stage "$d/b" b $((S / 4)) "$d/a/ckpt.pt" "${COMMON[@]}"
            train_and_evaluate "$d/c" "$report" "$Q" --init "$d/b/ckpt.pt" --steps $((S / 2)) \
                "${COMMON[@]}" ;;
        ac|bc)
            stage="${arm:0:1}"
            distill_stage "$d/$stage" "$stage" $((S / 2)) "$STUDENT" --adapters embed "${COMMON[@]}"
            train_and_evaluate "$d/c" "$report" "$Q" --init "$d/$stage/ckpt.pt" \
                --steps $((S / 2)) "${COMMON[@]}" ;;
        *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
done
"$PY" -m training.sweep_report "$OUT"/*.json --anchor "$OUT/rd.json" \
    --out "$OUT/summary.json"
