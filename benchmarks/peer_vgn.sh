#!/usr/bin/env bash
# Proof against a peer (issue: the simulated world, item 9): the released VGN weights on both scene
# types, side view with dex noise and the six-view circle without noise, then the dex ablation cells.
# Resumable: rerun the same command to continue; raise ROUNDS to extend a finished run.
#   ROUNDS=40 bash benchmarks/peer_vgn.sh            -> runs/peer_vgn/<scene>_<views>_<noise>/
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-40}
OUT=${OUT:-runs/peer_vgn}
CELLS=${CELLS:-"packed:side:dex pile:side:dex packed:circle6:none pile:circle6:none"}
for cell in $CELLS; do
  IFS=: read -r scene views noise <<<"$cell"
  .venv/bin/igd bench --planner vgn --weights weights/vgn_conv.pth --scene "$scene" --views "$views" \
      --noise "$noise" --rounds "$ROUNDS" --seeds 0 1 2 3 4 --no-progress --resume \
      --out "$OUT/${scene}_${views}_${noise}"
done
