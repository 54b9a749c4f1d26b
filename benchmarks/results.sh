#!/usr/bin/env bash
# Every released planner in one run of our benchmark: the authors' GIGA and GIGA's retrained VGN (the
# comparators nobody here trained), VGN's original release, our VGN, GIGA from scratch (and its first release,
# -v1) and the authors' GIGA fine-tuned here (`giga-packed`, `giga-pile`),
# IGD's first release (DDIM 10 steps, N = 1), IGD warm-started from our GIGA and (packed) from the authors' (N = 4), SE(3)-DiF,
# dGrasp and the non-learned topdown floor, on both scene types, side view with dex noise, seeds 0-4 x ROUNDS
# rounds (100 rounds per cell by default). Every planner plays the same scenes (same seeds, same
# objects). Resumable: rerun the same command to continue a killed run.
#   bash benchmarks/results.sh                 -> runs/results/<scene>/<label>/
#   EXTRA=1 bash benchmarks/results.sh         -> also IGD with N = 4 and with the paper's DDPM-100
#   REPORT_OUT=docs/results ENTRIES= bash benchmarks/results.sh   -> only the report of the runs so far
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-20}
OUT=${OUT:-runs/results}
SCENES=${SCENES:-"packed pile"}
WORKERS=${WORKERS:-2}
# label|planner (a released name or a type; SCENE is replaced)|weights (for a type)|extra options;
# label@packed runs on that scene type only
ENTRIES=${ENTRIES-"giga-authors|giga-SCENE-authors||
vgn-authors|vgn-SCENE-authors||
giga@packed|giga-packed-scratch||
giga-mined@packed|giga-packed-mined||
giga-2000-neg-e20@pile|giga-pile-scratch||
giga-authors-init|giga-SCENE||
giga-v1|giga-SCENE-v1||
igd-ddim10|igd-SCENE-v1||--sampler ddim --steps 10 --rounds-n 1
igd-authors-init-d8-e20-n4@packed|igd-packed-transfer||
igd-mined@packed|igd-packed||
igd-giga-init-n4@packed|igd-packed-scratch||
igd-giga-init-n4@pile|igd-pile-scratch||
igd-authors-init-2000-d8-e8-n4@pile|igd-pile-transfer||
igd-mined@pile|igd-pile||
giga-mined@pile|giga-pile-mined||
se3dif|se3dif-SCENE||
dgrasp|dgrasp-SCENE||
vgn-released|vgn||
vgn|vgn-SCENE||
topdown|topdown||"}
if [ -n "${EXTRA:-}" ]; then
  ENTRIES="$ENTRIES
igd-ddim10-n4|igd-SCENE-v1||--sampler ddim --steps 10 --rounds-n 4
igd-ddpm100|igd-SCENE-v1||--sampler ddpm --steps 100 --rounds-n 1"
fi
for scene in $SCENES; do
  while IFS='|' read -r label planner weights extra; do
    [ -z "$label" ] && continue
    if [[ "$label" == *@* ]]; then  # label@scene: a cell of that scene type only
      [ "${label#*@}" = "$scene" ] || continue
      label=${label%@*}
    fi
    weights_opt=(); [ -n "$weights" ] && weights_opt=(--weights "${weights//SCENE/$scene}")
    # shellcheck disable=SC2086
    .venv/bin/igd bench --planner "${planner//SCENE/$scene}" "${weights_opt[@]}" --scene "$scene" \
        --noise dex --views side --rounds "$ROUNDS" --seeds 0 1 2 3 4 --workers "$WORKERS" $extra \
        --no-progress --resume --out "$OUT/$scene/$label"
  done <<<"$ENTRIES"
done
# the report of every cell so far (each run labelled by its folder name): $REPORT_OUT/README.md
REPORT_OUT=${REPORT_OUT:-$OUT/report}
labels=()
for d in "$OUT"/*/*/; do
  [ -f "$d/config.json" ] && labels+=(--label "${d%/}=$(basename "$d")")
done
runs=(); for d in "$OUT"/*/*/; do [ -f "$d/config.json" ] && runs+=("${d%/}"); done
.venv/bin/igd report "${runs[@]}" "${labels[@]}" --out "$REPORT_OUT"
