#!/usr/bin/env bash
# Results: results/distill_equal_cpu/ (issue 40, item 3).
# Does distillation pay at equal compute? Every arm starts from the same student (STUDENT_SRC,
# its moving average) and trains H CPU-hours (`--cpu-hours`: a distillation step also runs the
# teacher, so equal steps would favour it) with the student's recipe (training/config/
# student_top.toml: lr 3e-5, loss power 1, edge weights), one thread per arm:
#   rd, rd_s1   rate-distortion only, two seeds (the noise of the comparison)
#   feat        rd + feature alignment (adapters from student channel i -> teacher channel i)
#   latent      rd + the entropy-weighted latent
#   recon       rd + the teacher's reconstruction
#   rate        rd + the teacher's rate targets (its bits per latent position)
#   abc         stages a (H/4), b (H/4), c = rd (H/2)
# Then codes EVAL_IMAGES photos of val/ with the real codec (lib.sh) and tabulates BD-rate
# against rd (training.sweep_report). TEACHER_SRC must code val/ >= 5% better than the student.
# The recorded run (2026-12-08) started from runs/student_top at 21,714 steps, which left the
# tree then: `git show 5db788d:runs/student_top/ckpt.pt > runs/sweep/equal_cpu_student.pt`
# repeats it (an existing frozen copy is kept).
# Usage: [STUDENT_SRC=CKPT] [TEACHER_SRC=CKPT] [OUT=DIR] experiments/distill_equal_cpu.sh [H] [ARM...]
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/lib.sh
H="${1:-0.5}"; shift || true
ARMS=("$@"); [ ${#ARMS[@]} -eq 0 ] && ARMS=(rd rd_s1 feat latent recon rate abc)
OUT="${OUT:-results/distill_equal_cpu}"
RECIPE=training/config/student_top.toml
mkdir -p "$OUT" runs/sweep
STUDENT=runs/sweep/equal_cpu_student.pt
frozen "$STUDENT" "${STUDENT_SRC:-runs/student_top/ckpt.pt}"
TEACHER=runs/sweep/equal_cpu_teacher.pt
frozen "$TEACHER" "${TEACHER_SRC:-runs/teacher_v3/ckpt.pt}"
Q="0 25 50 75 100"
ONLY_RD=(--w-feat 0 --w-latent 0 --w-recon 0 --w-rate 0 --w-rd 1)

# arm RUN MODE CPU_HOURS INIT [flags...]: one stage of an arm, resumable
arm() {
    local run="$1" mode="$2" hours="$3" init="$4"
    shift 4
    local teacher=(); [ "$mode" = distill ] && teacher=(--teacher "$TEACHER" --adapters embed)
    "$PY" -m training "$mode" "$RECIPE" --run "$run" --init "$init" --cpu-hours "$hours" \
        --steps 10000000 --threads "$THREADS" --eval-every 0 "${teacher[@]}" "$@"
}

for a in "${ARMS[@]}"; do
    d="runs/sweep/equal_cpu_$a"
    report="$OUT/$a.json"
    if [ -f "$report" ]; then echo "$report exists: kept"; continue; fi
    case "$a" in
        rd) arm "$d" rd "$H" "$STUDENT" ;;
        rd_s1) arm "$d" rd "$H" "$STUDENT" --seed 1 ;;
        feat|latent|recon|rate) arm "$d" distill "$H" "$STUDENT" "${ONLY_RD[@]}" "--w-$a" 1 ;;
        abc)
            q=$(python3 -c "print($H / 4)"); h=$(python3 -c "print($H / 2)")
            arm "$d/a" distill "$q" "$STUDENT" --stage a
            arm "$d/b" distill "$q" "$d/a/ckpt.pt" --stage b
            arm "$d/c" rd "$h" "$d/b/ckpt.pt"
            d="$d/c" ;;
        *) echo "unknown arm $a" >&2; exit 2 ;;
    esac
    evaluate_run "$d" "$report" "$Q"
done
if [ -f "$OUT/rd.json" ]; then
    "$PY" -m training.sweep_report "$OUT"/*.json --anchor "$OUT/rd.json" --out "$OUT/summary.json"
fi
