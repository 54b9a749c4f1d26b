"""Planning latency of several planners on the same observations, interleaved, in one process.

For each of ``--scenes`` benchmark observations (round 0 of seeds 0, 1, ...: the scenes and depth
noise of ``igd bench``), every planner plans ``--repeat`` times in turn (planner A, B, C, A, B, C, ...),
so a load that comes and goes during the run hits every planner alike. Latency is what the benchmark
logs as ``planning_time`` (``Planner.timed_plan``: network + sampling + post-processing; the TSDF
is built before and not counted). Prints median and mean per planner and each median's ratio to
the first planner's. Timings only; nothing is asserted.

    .venv/bin/python benchmarks/bench_latency.py --scene packed --threads 1 \\
        --planner giga=weights/giga-packed.pt \\
        --planner igd-ddim10=weights/igd-packed.pt:sampler=ddim,steps=10 \\
        --planner igd-ddpm100=weights/igd-packed.pt:sampler=ddpm,steps=100
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def parse_planner(spec: str) -> tuple[str, str, dict]:
    """``LABEL=WEIGHTS[:key=value,...]`` -> (label, weights, overrides)."""
    from igd.cli._common import parse_assignments

    label, _, rest = spec.partition("=")
    weights, _, opts = rest.partition(":")
    return label, weights, parse_assignments([o for o in opts.split(",") if o])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--planner", action="append", required=True, metavar="LABEL=WEIGHTS[:k=v,...]")
    p.add_argument("--scene", choices=("packed", "pile"), default="packed")
    p.add_argument("--objects", default="test")
    p.add_argument("--noise", default="dex")
    p.add_argument("--scenes", type=int, default=5, help="observations (round 0 of seeds 0..N-1)")
    p.add_argument("--repeat", type=int, default=3, help="plans per planner and observation")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the benchmark's workers use 1)")
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args(argv)

    import torch

    from igd.bench.clutter_removal import seed_planner
    from igd.errors import IGDError
    from igd.planners.base import get_planner_class, read_checkpoint
    from igd.viz.simulated import observe_scene

    torch.set_num_threads(args.threads)
    try:
        planners = []
        for spec in args.planner:
            label, weights, overrides = parse_planner(spec)
            checkpoint = read_checkpoint(weights)  # read once: its type tag names the planner, its weights load
            planners.append((label, get_planner_class(checkpoint["planner"]).from_checkpoint(checkpoint, weights,
                                                                                               **overrides)))
        views = [observe_scene(args.scene, seed, 5, args.noise, args.objects) for seed in range(args.scenes)]
    except IGDError as e:
        print(f"bench_latency: {e}", file=sys.stderr)
        return 2
    times = {label: [] for label, _ in planners}
    counts = {label: [] for label, _ in planners}
    for view in views:
        for label, planner in planners:  # one warm-up plan each on this observation
            seed_planner(planner, view.planner_seed)
            planner.timed_plan(view.observation)
        for _ in range(args.repeat):
            for label, planner in planners:
                seed_planner(planner, view.planner_seed)
                grasps = planner.timed_plan(view.observation)
                times[label].append(float(grasps.info["planning_time"]))
                counts[label].append(len(grasps))
    first = planners[0][0]
    base = float(np.median(times[first]))
    rows = []
    print(f"{args.scene} scenes x {args.scenes}, {args.repeat} plans each, {args.threads} thread(s), "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'planner':<16}{'median ms':>10}{'mean ms':>10}{'x ' + first:>14}{'grasps':>8}")
    for label, _ in planners:
        med, mean = float(np.median(times[label])), float(np.mean(times[label]))
        rows.append({"planner": label, "median_s": med, "mean_s": mean, "ratio_to_first": med / base,
                     "mean_grasps": float(np.mean(counts[label]))})
        print(f"{label:<16}{1e3 * med:>10.0f}{1e3 * mean:>10.0f}{med / base:>14.2f}{np.mean(counts[label]):>8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows, "times": times}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
