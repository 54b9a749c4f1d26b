r"""Label the grasps a trained planner would execute on its training scenes (hard examples for training).

examples:
  # GIGA's 16 best grasps on every training scene of a processed root, labelled by the fast labeller
  igd mine runs/train/giga/best.pt --data data/processed/packed-train-seed0-dex --name giga --per-scene 16

  # two worker processes; continue a killed run where it stopped
  igd mine runs/train/giga/best.pt --data data/processed/packed-train-seed0-dex --name giga --workers 2 --resume

  # then train on them: M of a scene's mined rows in each of its items
  igd train --planner giga --init runs/train/giga/best.pt --data data/processed/packed-train-seed0-dex \
      --out runs/train/giga-mined --epochs 5 --mined giga --mined-rows 16

output: PROCESSED/mined/NAME/grasps.csv (grasps.csv columns: the planner's TCP pose, the measured width of a
success or 0.08, the label), parts/<scene>.csv as each scene lands, mine.json (settings and summary).
"""

from __future__ import annotations

import argparse

from igd.cli._common import parse_assignments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd mine``."""
    p = parser.add_argument
    p("checkpoint", metavar="CHECKPOINT", help="a released name or a checkpoint path")
    p("--data", required=True, help="processed root (igd process): its grids and splits; mined/NAME/ is written here")
    p("--name", default="mined", help="the mined set's folder under PROCESSED/mined/ (default: mined)")
    p("--raw", help="raw root with the scenes' mesh_pose_list (default: the one process.json names)")
    p("--split", default="train", choices=("train", "val", "all"),
      help="scenes of this split (default: train; mining validation scenes leaks them into training)")
    p("--per-scene", type=int, default=16, help="the planner's best grasps labelled per scene (default: 16)")
    p("--protocol", default="bench", choices=("bench", "fast"),
      help="label as the benchmark executes a grasp (bench, default: contact on the approach stops it there) or as "
           "the data generation does (fast: any contact on the approach fails)")
    p("--scenes", type=int, help="at most this many scenes of the split (default: all)")
    p("--seed", type=int, default=0, help="seed of the planner's own random choices (default: 0)")
    p("--workers", type=int, default=1, help="parallel processes (Ray when > 1; default: 1)")
    p("--address", help="a running Ray cluster to use (ray start ...)")
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="a planner config field, e.g. --set threshold=0.3 (repeatable)")
    p("--resume", action="store_true", help="continue a mined set: keep the scenes that landed, mine the rest")
    p("--no-progress", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from igd.train.mine import MineConfig, format_summary, mined_folder, run_mine

    cfg = MineConfig(checkpoint=args.checkpoint, data=args.data, name=args.name, raw=args.raw, split=args.split,
                     per_scene=args.per_scene, protocol=args.protocol, scenes=args.scenes, seed=args.seed, workers=args.workers,
                     address=args.address, overrides=parse_assignments(args.planner_set))
    summary = run_mine(cfg, resume=args.resume, progress=not args.no_progress)
    print(format_summary(summary, mined_folder(cfg.data, cfg.name)))
    return 0
