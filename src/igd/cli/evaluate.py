r"""Judge checkpoints on labelled scenes in minutes: quality at the labelled points, calibration, executed grasps.

examples:
  # the authors' GIGA beside ours, on 20 validation scenes of a processed root
  igd evaluate giga-packed-authors giga-packed --data data/processed/packed-train-seed0-dex

  # a training run's checkpoints, 50 scenes, without simulating the executed grasps, results as JSON
  igd evaluate runs/train/giga/best.pt runs/train/giga-v2/best.pt --data data/processed/packed-train-seed0-dex \
      --scenes 50 --no-simulate --out runs/eval/giga.json

  # a lower quality threshold for every checkpoint (accuracy, share at threshold and the executed grasp)
  igd evaluate igd-packed --data data/processed/packed-train-seed0-dex --set threshold=0.1

columns: acc, AUC (quality at every labelled point of the scenes, before balancing); rot err (positives,
pi-symmetric) and width err (positives), medians; q mean / p99 / share >= thr over the voxels the
post-processing may keep, beside the labelled positive rate; executed: the planner's best grasp per scene,
the label of a labelled point within one voxel of it, and its simulated outcome in the rebuilt scene.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from igd.cli._common import parse_assignments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd evaluate``."""
    p = parser.add_argument
    p("checkpoints", nargs="+", metavar="CHECKPOINT", help="released names or checkpoint paths")
    p("--data", required=True, help="processed root (igd process): its grids and splits")
    p("--raw", help="raw root with the labelled points and mesh_pose_list (default: the one process.json names)")
    p("--split", default="val", choices=("val", "train", "all"), help="scenes of this split (default: val)")
    p("--scenes", type=int, default=20, help="at most this many scenes (default: 20)")
    p("--no-simulate", action="store_true", help="do not execute the planners' best grasps in the rebuilt scenes")
    p("--seed", type=int, default=0, help="seed of the planners' own random choices (default: 0)")
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="a planner config field for every checkpoint, e.g. --set threshold=0.4 (repeatable)")
    p("--out", help="also write the results as JSON here")


def run(args: argparse.Namespace) -> int:
    from igd.eval import EvaluateConfig, format_results, run_evaluate

    cfg = EvaluateConfig(checkpoints=list(args.checkpoints), data=args.data, raw=args.raw, split=args.split,
                         scenes=args.scenes, simulate=not args.no_simulate, seed=args.seed,
                         overrides=parse_assignments(args.planner_set))
    results = run_evaluate(cfg)
    print(format_results(results))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        print(f"wrote {out}")
    return 0
