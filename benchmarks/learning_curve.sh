#!/usr/bin/env bash
# A learning curve: one planner trained from scratch on nested subsets of one processed root (the first N
# training scenes, `igd train --train-scenes N`), with ONE schedule rule for every size (EPOCHS epochs,
# AdamW 2e-4, x 0.1 at 0.75 and 0.92 of the epochs, 4 scenes x 32 grasps a step, both extra negatives,
# seed 0), then every size benchmarked on the results run's seeds and scenes (benchmarks/results.sh:
# side view, dex, seeds 0-4 x ROUNDS) beside its other cells, and the curve plotted.
#   bash benchmarks/learning_curve.sh                      -> GIGA on packed, 50 100 300 708 scenes
#   PLANNER=igd SIZES="100 300" bash benchmarks/learning_curve.sh
#   SCENE=pile DATA=data/processed/pile-train-seed0-2000-dex SIZES="100 300 600 1800" bash benchmarks/learning_curve.sh
# IGD follows the recipe of its released from-scratch weights (no weights of the authors anywhere): at each
# size its tri-plane encoder and heads start from the GIGA of the same size trained by the rule above
# (trained first when missing; WARM=none starts IGD from PyTorch's initialisation instead), IGD_SET holds
# its settings, and its quality threshold is calibrated against that GIGA on the validation split
# (benchmarks/calibrate_threshold.py) and benchmarked with N = 4 orientations, DDIM 10 steps; the GIGA
# of each size is benchmarked too, and both curves share one plot.
# NAMED="708=igd-packed-scratch" (and NAMED_GIGA="708=giga-packed-scratch") benchmarks a size from released
# weights trained by the same rule on the same set instead of training it again. Resumable: a killed training or benchmark continues where it
# stopped when the command is rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PLANNER=${PLANNER:-giga}
SCENE=${SCENE:-packed}
DATA=${DATA:-data/processed/$SCENE-train-seed0-dex}
SIZES=${SIZES:-"50 100 300 708"}
EPOCHS=${EPOCHS:-20}
ROUNDS=${ROUNDS:-20}
OUT=${OUT:-runs/results}
WARM=${WARM:-giga}
IGD_SET=${IGD_SET:-"--set neg_rounds=2 --set ddpm_draws=8"}
IGD_BENCH=${IGD_BENCH:-"--sampler ddim --steps 10 --rounds-n 4"}
NAMED=${NAMED:-}
NAMED_GIGA=${NAMED_GIGA:-}
PLOT=${PLOT:-docs/img/learning-curve-$PLANNER-$SCENE.png}
COMMON=(--data "$DATA" --epochs "$EPOCHS" --batch-size 4 --grasps-per-scene 32 --dropped-negatives 32
        --certain-negatives 32 --augment --seed 0 --no-progress)

train() {  # train PLANNER RUN N [extra igd train options...]: by the rule, resumed if it was stopped
  local planner=$1 run=$2 n=$3; shift 3
  local resume=(); [ -f "$run/last.ckpt" ] && resume=(--resume)
  OMP_NUM_THREADS=1 .venv/bin/igd train --planner "$planner" --out "$run" --train-scenes "$n" "${COMMON[@]}" \
      "$@" "${resume[@]}"
}

named() {  # named N LIST: the released name LIST gives size N, or nothing
  local item; for item in $2; do [ "${item%%=*}" = "$1" ] && { echo "${item#*=}"; return; }; done; true
}

entries=""
labels=()
for n in $SIZES; do
  labels+=("$n=$OUT/$SCENE/$PLANNER-curve-$n")
  [ "$PLANNER" = igd ] && [ "$WARM" = giga ] && labels+=("$n=$OUT/$SCENE/giga-curve-$n")
  name=$(named "$n" "$NAMED")
  if [ -n "$name" ]; then
    entries="$entries
$PLANNER-curve-$n|$name||"
    giga_name=$(named "$n" "$NAMED_GIGA")
    if [ "$PLANNER" = igd ] && [ "$WARM" = giga ]; then
      [ -n "$giga_name" ] || { echo "error: NAMED gives size $n; NAMED_GIGA must name its GIGA" >&2; exit 2; }
      entries="$entries
giga-curve-$n|$giga_name||"
    fi
    continue
  fi
  run="runs/train/$PLANNER-$SCENE-curve-$n"
  if [ "$PLANNER" = igd ]; then
    init=()
    if [ "$WARM" = giga ]; then
      giga="runs/train/giga-$SCENE-curve-$n"
      train giga "$giga" "$n"
      init=(--init "$giga/best.pt")
      entries="$entries
giga-curve-$n|giga|$giga/best.pt|"
    elif [ "$WARM" != none ]; then
      echo "error: WARM must be giga or none, got '$WARM'" >&2; exit 2
    fi
    # shellcheck disable=SC2086
    train igd "$run" "$n" "${init[@]}" $IGD_SET
    calib="$run/threshold.json"
    if [ ! -f "$calib" ]; then
      ref=${giga:-}; [ -n "$ref" ] || { echo "error: WARM=none has no GIGA to calibrate against" >&2; exit 2; }
      OMP_NUM_THREADS=1 .venv/bin/python benchmarks/calibrate_threshold.py --giga "$ref/best.pt" --igd "$run/best.pt" \
          --data "$DATA" --json "$calib.part" > /dev/null
      mv "$calib.part" "$calib"
    fi
    threshold=$(.venv/bin/python -c "import json,sys; print(round(json.load(open(sys.argv[1]))['igd_threshold'], 4))" "$calib")
    entries="$entries
$PLANNER-curve-$n|$PLANNER|$run/best.pt|$IGD_BENCH --threshold $threshold"
  else
    train "$PLANNER" "$run" "$n"
    entries="$entries
$PLANNER-curve-$n|$PLANNER|$run/best.pt|"
  fi
done
ENTRIES="$entries" SCENES="$SCENE" ROUNDS="$ROUNDS" OUT="$OUT" bash benchmarks/results.sh
.venv/bin/python benchmarks/plot_learning_curve.py "${labels[@]}" --reference "$OUT/$SCENE/giga-authors" \
    --reference "$OUT/$SCENE/topdown" --out "$PLOT"
