r"""Run the clutter-removal benchmark: a planner x a scene type x seeds x rounds (docs/benchmark.md).

examples:
  # VGN's released weights on packed scenes, the paper's protocol (seeds 0-4 x 100 rounds)
  igd bench --planner vgn --weights weights/vgn_conv.pth --scene packed --out runs/vgn-packed

  # a released name brings its planner type and weights: GIGA's authors' model, 20 rounds per seed
  igd bench --planner giga-pile-authors --scene pile --rounds 20 --out runs/giga-pile-authors

  # a quick look: 4 rounds of seed 0 on pile scenes, without depth noise, on 2 workers
  igd bench --planner vgn --weights weights/vgn_conv.pth --scene pile --rounds 4 --seeds 0 \
      --noise none --workers 2 --out runs/vgn-pile-quick

  # VGN's own protocol (threshold 0.9, one random detection) with its six evaluation views
  igd bench --planner vgn --weights weights/vgn_conv.pth --scene packed --protocol vgn \
      --views circle6 --out runs/vgn-own

  # continue a killed run, or extend it with more rounds or seeds: finished rounds are kept
  igd bench --planner vgn --weights weights/vgn_conv.pth --scene packed --out runs/vgn-packed --resume

  # IGD with the paper's 100-step DDPM sampler and N = 4 sampling rounds per point
  igd bench --planner igd --weights weights/igd-packed.pt --scene packed --sampler ddpm --steps 100 \
      --rounds-n 4 --out runs/igd-ddpm

  # a non-learned floor on a running Ray cluster
  igd bench --planner topdown --scene pile --address auto --out runs/topdown-pile

outputs (in --out):
  config.json  rounds/s{seed}_r{round}.json  rounds.csv  grasps.csv  summary.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igd.cli._common import PLANNER_HELP, WEIGHTS_HELP, parse_assignments, planner_choice

NOISE_HELP = "none, dex, lateral, depth, blur, stereo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd bench``."""
    p = parser.add_argument
    p("--planner", required=True, help=PLANNER_HELP)
    p("--weights", help=WEIGHTS_HELP)
    p("--scene", choices=("pile", "packed"), default="packed", help="scene type (default: packed)")
    p("--objects", default="test",
      help="object split joined to the scene ('test' -> packed/test), a set name (e.g. blocks), or a downloaded "
           "folder of URDFs in VGN's/GIGA's format (any path with a '/', e.g. data/urdfs/packed/test; docs/objects.md) "
           "(default: test)")
    p("--rounds", type=int, default=100, help="rounds per seed (default: 100)")
    p("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds (default: 0 1 2 3 4)")
    p("--noise", default="dex", help=f"depth noise model: {NOISE_HELP} (default: dex)")
    p("--views", choices=("side", "circle6"), default="side",
      help="fused camera views: the single side view or VGN's six on a circle (default: side)")
    p("--object-count", type=int, default=5, help="objects per scene (default: 5)")
    p("--workers", type=int, default=os.cpu_count() or 1,
      help="parallel simulation workers of a local Ray cluster; 1 runs serially in this process without Ray; "
           "ignored with --address (the cluster's CPUs decide) (default: number of CPUs)")
    p("--address", help="address of a running Ray cluster ('auto' or host:port); default: a local cluster")
    p("--out", help="output folder (default: runs/bench/PLANNER-SCENE-NOISE-VIEWS)")
    p("--resume", action="store_true", help="keep the finished rounds in --out and play only the missing ones")
    p("--protocol", help="planner post-processing protocol, e.g. giga or vgn (planners that have one)")
    p("--threshold", type=float, help="planner quality threshold in [0, 1] (planners that have one)")
    p("--sampler", choices=("ddpm", "ddim", "dpm"),
      help="diffusion sampler of planners that have one (igd): ddpm (the paper's, 100 steps), ddim or dpm")
    p("--steps", type=int, help="reverse diffusion steps of the sampler (igd; default 100 for ddpm, 10 otherwise)")
    p("--rounds-n", dest="rounds_n", type=int,
      help="N: orientations drawn per gated point, the classifier's best kept (igd; default 1)")
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="any other planner config field, e.g. --set force=true (repeatable)")
    p("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace):
    """The :class:`~igd.bench.config.BenchConfig` of parsed ``igd bench`` arguments."""
    from igd.bench.config import BenchConfig

    overrides = parse_assignments(args.planner_set)
    for key in ("protocol", "threshold", "sampler", "steps", "rounds_n"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    kind, weights = planner_choice(args.planner, args.weights)
    out = args.out or os.path.join("runs", "bench", f"{Path(args.planner).stem}-{args.scene}-{args.noise}-{args.views}")
    return BenchConfig(planner=kind, weights=weights, scene=args.scene, objects=args.objects,
                       rounds=args.rounds, seeds=list(args.seeds), noise=args.noise, views=args.views,
                       object_count=args.object_count, workers=args.workers, address=args.address,
                       out=out, overrides=overrides)


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return path.as_posix() if rel.startswith("..") else rel


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the summary table and where the logs are."""
    from igd.bench import format_summary, run_benchmark, runner

    cfg = config_from_args(args)
    summary = run_benchmark(cfg, progress=not args.no_progress, resume=args.resume)
    print(format_summary(summary))
    out = Path(cfg.out)
    for name in (runner.SUMMARY_FILE, runner.ROUNDS_CSV, runner.GRASPS_CSV, runner.ROUNDS_DIR):
        print(f"logs: {_shown(out / name)}")
    return 0
