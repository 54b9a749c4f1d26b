#!/usr/bin/env bash
# A learning curve: one planner trained from scratch on nested subsets of one processed root (the first N
# training scenes, `igd train --train-scenes N`), with ONE schedule rule for every size (EPOCHS epochs,
# AdamW 2e-4, x 0.1 at 0.75 and 0.92 of the epochs, 4 scenes x 32 grasps a step, both extra negatives,
# seed 0), then every size benchmarked on the results run's seeds and scenes (benchmarks/results.sh:
# side view, dex, seeds 0-4 x ROUNDS) beside its other cells, and the curve plotted.
#   bash benchmarks/learning_curve.sh                      -> GIGA on packed, 50 100 300 708 scenes
#   PLANNER=igd SIZES="100 300" bash benchmarks/learning_curve.sh
#   SCENE=pile DATA=data/processed/pile-train-seed0-2000-dex SIZES="100 300 600 1800" bash benchmarks/learning_curve.sh
# Resumable: a killed training or benchmark continues where it stopped when the command is rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PLANNER=${PLANNER:-giga}
SCENE=${SCENE:-packed}
DATA=${DATA:-data/processed/$SCENE-train-seed0-dex}
SIZES=${SIZES:-"50 100 300 708"}
EPOCHS=${EPOCHS:-20}
ROUNDS=${ROUNDS:-20}
OUT=${OUT:-runs/results}
PLOT=${PLOT:-docs/img/learning-curve-$PLANNER-$SCENE.png}
entries=""
for n in $SIZES; do
  run="runs/train/$PLANNER-$SCENE-curve-$n"
  resume=(); [ -f "$run/last.ckpt" ] && resume=(--resume)
  OMP_NUM_THREADS=1 .venv/bin/igd train --planner "$PLANNER" --data "$DATA" --out "$run" --epochs "$EPOCHS" \
      --batch-size 4 --grasps-per-scene 32 --dropped-negatives 32 --certain-negatives 32 --augment --seed 0 \
      --train-scenes "$n" --no-progress "${resume[@]}"
  entries="$entries
$PLANNER-curve-$n|$PLANNER|$run/best.pt|"
done
ENTRIES="$entries" SCENES="$SCENE" ROUNDS="$ROUNDS" OUT="$OUT" bash benchmarks/results.sh
labels=(); for n in $SIZES; do labels+=("$n=$OUT/$SCENE/$PLANNER-curve-$n"); done
.venv/bin/python benchmarks/plot_learning_curve.py "${labels[@]}" --reference "$OUT/$SCENE/giga-authors" \
    --reference "$OUT/$SCENE/topdown" --out "$PLOT"
