# Shared by the experiment scripts: train one variant, then code the validation photos with the
# real codec (EVAL_IMAGES spread over EVAL_DATA: val/, where decisions are made since
# 2026-12-07; the sweeps recorded before then used EVAL_DATA=../shared/data/kodak EVAL_IMAGES=24).
# train_and_evaluate RUN REPORT "QUALITIES" TRAIN_ARGS...
#   RUN: run directory (runs/sweep/..., not committed); REPORT: evaluation JSON to write
#   (an existing report is kept, so an interrupted sweep continues where it stopped).
PY="${PYTHON:-python}"
THREADS="${THREADS:-1}"
INIT="${INIT:-runs/student/ckpt.pt}"  # the fine-tuning experiments start from this
# The recorded experiments ran with the trainer's defaults until 2026-11-30 (8 crops of 128 px,
# L1 1.0); pinned here so they repeat as recorded. A script's own flags come later and win.
RECORDED=(--patch 128 --batch 8 --l1 1.0)
EVAL_DATA="${EVAL_DATA:-../shared/data/val}"
EVAL_IMAGES="${EVAL_IMAGES:-8}"

train_and_evaluate() {
    local run="$1" report="$2" qualities="$3"
    shift 3
    if [ -f "$report" ]; then echo "$report exists: kept"; return; fi
    "$PY" -m training rd --run "$run" --eval-every 0 --threads "$THREADS" "${RECORDED[@]}" "$@"
    evaluate_run "$run" "$report" "$qualities"
}

# evaluate_run RUN REPORT "QUALITIES": export RUN's student and code the evaluation images.
evaluate_run() {
    local run="$1" report="$2" qualities="$3" tmp
    tmp="$(mktemp -d)"
    "$PY" -m training.export "$run/ckpt.pt" --name student --out-dir "$tmp"
    # shellcheck disable=SC2086
    "$PY" -m lic_codec.evaluate --weights "$tmp" --threads "$THREADS" --quality $qualities \
        --data "$EVAL_DATA" --limit "$EVAL_IMAGES" --out "$report"
    rm -rf "$tmp"
    tail -n 1 "$run/log.tsv"
}

# distill_stage RUN STAGE STEPS [INIT] [extra train args...]: one distillation stage from the
# frozen teacher in $TEACHER, without evaluations (the last stage's report evaluates).
distill_stage() {
    local run="$1" stage="$2" steps="$3" init="${4:-}"
    shift 4 || shift $#
    local initarg=(); [ -n "$init" ] && initarg=(--init "$init")
    "$PY" -m training distill --teacher "$TEACHER" --stage "$stage" --run "$run" \
        --steps "$steps" --eval-every 0 --threads "$THREADS" "${RECORDED[@]}" "${initarg[@]}" "$@"
}

# frozen COPY SRC: a network copied at a sweep's first run, so a resumed sweep keeps its start
frozen() {
    [ -f "$1" ] || cp "$2" "$1"
}
