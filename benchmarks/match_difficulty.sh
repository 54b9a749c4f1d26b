#!/usr/bin/env bash
# How the difficulty of pile/test was matched (docs/objects.md): GIGA's released pile model on the
# old set and on each candidate of benchmarks/match_difficulty.py, validation seeds 100-103 x 25 rounds.
# Resumable: rerun to continue.   CANDIDATES="A B" bash benchmarks/match_difficulty.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/match}
SEEDS=${SEEDS:-"100 101 102 103"}
ROUNDS=${ROUNDS:-25}
PLANNER=${PLANNER:-"--planner giga --weights weights/giga-pile-authors.pt"}
run() {  # run NAME SCENE ARGS...
  local name=$1 scene=$2; shift 2
  OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/match_difficulty.py $PLANNER --scene "$scene" \
      --seeds $SEEDS --rounds "$ROUNDS" --no-progress --out "$OUT/$name" "$@"
}
for cell in ${CELLS:-"pile:v1 pile:test"}; do
  IFS=: read -r scene what <<<"$cell"
  case $what in
    v1) run "$scene-v1" "$scene" --objects "$scene/test-v1" ;;
    test) run "$scene-test" "$scene" --objects "$scene/test" ;;
    *) run "$scene-$what" "$scene" --candidate "$what" ;;
  esac
done
.venv/bin/python benchmarks/match_difficulty.py --table "$OUT"/*/
