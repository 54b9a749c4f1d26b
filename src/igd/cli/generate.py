r"""Generate self-supervised grasp data: scenes x grasp points x six yaw trials (docs/data.md, GIGA's layout).

examples:
  # the pile training set behind our weights (docs/data.md), on all local cores
  igd generate --scene pile --scenes 2000 --objects train --seed 0 --out data/raw/pile-train

  # a quick look: 3 scenes of simple blocks, 20 grasp points each, in this process
  igd generate --scene packed --scenes 3 --grasps-per-scene 20 --objects blocks --workers 1 --out data/raw/tiny

  # continue a killed run, or extend it to more scenes: finished scenes are kept
  igd generate --scene pile --scenes 4000 --objects train --seed 0 --out data/raw/pile-train --resume

  # on a running Ray cluster; every yaw fully simulated (the straightforward protocol)
  igd generate --scene packed --scenes 2000 --address auto --protocol reference --out data/raw/packed_ref

outputs (in --out):
  setup.json  grasps.csv  scenes/<id>.npz  mesh_pose_list/<id>.npz  stats.json  (.generate.json, .parts/)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd generate``."""
    p = parser.add_argument
    p("--scene", choices=("pile", "packed"), default="pile", help="scene type (default: pile)")
    p("--scenes", type=int, required=True, help="number of scenes (indices 0..N-1)")
    p("--grasps-per-scene", type=int, default=120, help="grasp points per scene, six yaw trials each (default: 120)")
    p("--objects", default="train",
      help="object split joined to the scene ('train' -> pile/train), a set name (e.g. blocks), or a downloaded "
           "folder of URDFs in VGN's/GIGA's format (any path with a '/', e.g. data/urdfs/pile/train; docs/objects.md) "
           "(default: train)")
    p("--out", required=True, help="raw dataset root to write (GIGA layout)")
    p("--seed", type=int, default=0, help="seed: scene i is drawn from SeedSequence([seed, i]) (default: 0)")
    p("--protocol", choices=("fast", "reference"), default="fast",
      help="labelling protocol: fast (same labels, see docs/data.md) or reference (every yaw simulated) "
           "(default: fast)")
    p("--workers", type=int, default=os.cpu_count() or 1,
      help="parallel workers of a local Ray cluster; 1 runs serially in this process without Ray; "
           "ignored with --address (default: number of CPUs)")
    p("--address", help="address of a running Ray cluster ('auto' or host:port); default: a local cluster")
    p("--resume", action="store_true", help="keep the finished scenes in --out and generate only the missing ones")
    p("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate, print the summary and where the data is."""
    from igd.data.generate import STATS_FILE, GenerateConfig, format_stats, run_generate

    cfg = GenerateConfig(out=args.out, scene=args.scene, scenes=args.scenes, grasps_per_scene=args.grasps_per_scene,
                         objects=args.objects, seed=args.seed, protocol=args.protocol, workers=args.workers,
                         address=args.address)
    stats = run_generate(cfg, progress=not args.no_progress, resume=args.resume)
    print(format_stats(stats))
    rel = os.path.relpath(cfg.out)
    shown = Path(cfg.out).as_posix() if rel.startswith("..") else rel
    print(f"data: {shown}")
    print(f"stats: {os.path.join(shown, STATS_FILE)}")
    return 0
