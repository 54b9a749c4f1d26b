#!/usr/bin/env bash
# The learned planners in one run of our benchmark (issue: learned planners, items 5-6): VGN's released
# weights, our VGN, GIGA and IGD (fast sampler, N = 4, and the paper's 100-step DDPM) and the non-learned
# topdown floor on both scene types,
# side view with dex noise, seeds 0-4 x ROUNDS rounds (100 rounds per cell by default). Every planner
# plays the same scenes (same seeds). Resumable: rerun the same command to continue a killed run.
#   bash benchmarks/results.sh                 -> runs/results/<scene>/<label>/
#   REPORT_OUT=docs/results ENTRIES= bash benchmarks/results.sh   -> only the report of the runs so far
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-20}
OUT=${OUT:-runs/results}
SCENES=${SCENES:-"packed pile"}
WORKERS=${WORKERS:-2}
# label|planner|weights (SCENE is replaced)|extra options
ENTRIES=${ENTRIES-"giga|giga|weights/giga-SCENE.pt|
igd-ddim10|igd|weights/igd-SCENE.pt|--sampler ddim --steps 10 --rounds-n 1
igd-ddpm100|igd|weights/igd-SCENE.pt|--sampler ddpm --steps 100 --rounds-n 1
igd-ddim10-n4|igd|weights/igd-SCENE.pt|--sampler ddim --steps 10 --rounds-n 4
vgn-released|vgn|weights/vgn_conv.pth|
vgn|vgn|weights/vgn-SCENE.pt|
topdown|topdown||"}
for scene in $SCENES; do
  while IFS='|' read -r label planner weights extra; do
    [ -z "$label" ] && continue
    weights_opt=(); [ -n "$weights" ] && weights_opt=(--weights "${weights//SCENE/$scene}")
    # shellcheck disable=SC2086
    .venv/bin/igd bench --planner "$planner" "${weights_opt[@]}" --scene "$scene" \
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
