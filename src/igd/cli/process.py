r"""Process a raw grasp dataset into a training root: clean/balance, noisy TSDF grids, occupancy, split.

examples:
  # the default: dex depth noise, 100,000 occupancy points per scene in 10 files, 10 % of scenes for validation
  igd process data/raw/pile-train data/processed/pile-train-dex --noise dex

  # on 4 local workers; continue a killed run without redoing its finished scenes
  igd process data/raw/pile-train data/processed/pile-train-dex --workers 4 --resume

  # VGN only needs grids: skip the occupancy labels
  igd process data/raw/packed-train data/processed/packed-train-vgn --occ-points 0

  # add training negatives to a finished processed root (resumable): dropped/grasps.csv, negatives/<id>.npz
  igd process data/raw/packed-train data/processed/packed-train-dex --add-negatives
  igd process data/raw/packed-train data/processed/packed-train-dex --add-negatives --probe-negatives 500

  # GIGA's released raw data (same layout; its absolute mesh paths must exist on this machine)
  igd process ~/giga/data_pile_train_raw data/processed/giga-pile --noise dex --workers 8

outputs (in PROCESSED):
  grasps.csv (metres)  setup.json  splits.json  process.json  scenes/<id>.npz  occ/<id>/NNNN.npz
  with --add-negatives: dropped/grasps.csv  negatives/<id>.npz  negatives.json (docs/data.md)
"""

from __future__ import annotations

import argparse
import os

NOISE_HELP = "none, dex, lateral, depth, blur, stereo, dex_scale, dex_field"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd process``."""
    p = parser.add_argument
    p("raw", metavar="RAW", help="raw root (setup.json, grasps.csv, scenes/, mesh_pose_list/)")
    p("processed", metavar="PROCESSED", help="processed root to write (a new folder, or one to --resume)")
    p("--noise", default="dex", help=f"depth noise before fusion: {NOISE_HELP} (default: dex)")
    p("--seed", type=int, default=0, help="seeds balancing, noise, occupancy points and the split (default: 0)")
    p("--occ-points", type=int, default=100_000, help="occupancy points per scene; 0 = none (default: 100000)")
    p("--occ-files", type=int, default=10, help="files the occupancy points of a scene are split into (default: 10)")
    p("--val-fraction", type=float, default=0.1, help="fraction of scenes in the validation split (default: 0.1)")
    p("--workers", type=int, default=os.cpu_count() or 1,
      help="parallel workers of a local Ray cluster; 1 runs in this process without Ray (default: number of CPUs)")
    p("--address", help="address of a running Ray cluster ('auto' or host:port); default: a local cluster")
    p("--resume", action="store_true", help="keep the finished scenes in PROCESSED and process only the rest")
    p("--add-negatives", action="store_true",
      help="only add training negatives to the finished processed root PROCESSED of RAW: the labelled negatives "
           "balancing dropped (dropped/grasps.csv) and certain negatives over the volume (negatives/<id>.npz); "
           "scenes already done are kept")
    p("--probe-negatives", type=int, default=0, metavar="N",
      help="with --add-negatives: also try N eligible voxels per scene within the hand's reach of an object "
           "and keep those whose six generation yaws all fail the fast labeller's geometric checks (default: 0)")
    p("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Process the raw root and print the summary."""
    from igd.data.process import ProcessConfig, format_summary, process_dataset

    if args.add_negatives:
        from igd.data import negatives

        print(negatives.format_summary(negatives.add_negatives(args.raw, args.processed, progress=not args.no_progress,
                                                               probe=args.probe_negatives)))
        return 0
    cfg = ProcessConfig(raw=args.raw, out=args.processed, noise=args.noise, seed=args.seed,
                        occ_points=args.occ_points, occ_files=args.occ_files, val_fraction=args.val_fraction,
                        workers=args.workers, address=args.address)
    summary = process_dataset(cfg, progress=not args.no_progress, resume=args.resume)
    print(format_summary(summary))
    print(f"processed root: {cfg.out}")
    return 0
