"""Seconds per clutter-removal round, and where they go: scene reset, render, noise, TSDF, planning, grasps.

Runs ``--rounds`` rounds of one seed serially in this process with the real simulator, perception
and planner (the code path of ``igd bench --workers 1``) and prints a table. Timings only; nothing
is asserted and nothing is written.

    .venv/bin/python benchmarks/bench_round.py --planner vgn --weights weights/vgn_conv.pth --rounds 3
    .venv/bin/python benchmarks/bench_round.py --planner topdown --scene pile --objects blocks --seed 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np

from igd.bench.clutter_removal import TIMING_KEYS, run_round
from igd.bench.config import BenchConfig
from igd.bench.runner import close_context, load_planner_checked, worker_context
from igd.errors import IGDError

COLUMNS = ("round", "objects", "grasps", "total") + TIMING_KEYS


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--planner", default="vgn")
    p.add_argument("--weights", help="checkpoint (learned planners), e.g. weights/vgn_conv.pth")
    p.add_argument("--scene", choices=("pile", "packed"), default="packed")
    p.add_argument("--objects", default="test", help="object split or set name, e.g. blocks")
    p.add_argument("--noise", default="dex")
    p.add_argument("--views", choices=("side", "circle6"), default="side")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (the benchmark's workers use 1)")
    return p.parse_args(argv)


def time_rounds(args: argparse.Namespace) -> list[dict]:
    """One row of seconds per round: total and the split of :data:`TIMING_KEYS`."""
    import torch

    torch.set_num_threads(args.threads)
    cfg = BenchConfig(planner=args.planner, weights=args.weights, scene=args.scene, objects=args.objects,
                      rounds=args.rounds, seeds=[args.seed], noise=args.noise, views=args.views, workers=1,
                      out=tempfile.gettempdir())
    tic = time.perf_counter()
    sim, planner = worker_context(cfg, load_planner_checked(cfg))
    print(f"set-up (planner + simulator): {time.perf_counter() - tic:.2f} s", file=sys.stderr)
    rows = []
    try:
        for round_id in range(args.rounds):
            result = run_round(sim, planner, cfg, args.seed, round_id)
            rows.append({"round": round_id, "objects": result.object_count, "grasps": len(result.grasps),
                         "total": result.wall_time, **result.timings})
    finally:
        close_context()
    return rows


def format_table(rows: list[dict]) -> str:
    widths = {c: max(len(c), 9) for c in COLUMNS}
    line = lambda cells: "  ".join(f"{cell:>{widths[c]}}" for c, cell in zip(COLUMNS, cells))  # noqa: E731
    out = [line(COLUMNS)]
    for row in rows:
        out.append(line([row["round"], row["objects"], row["grasps"]] + [f"{row[c]:.3f}" for c in COLUMNS[3:]]))
    mean = {c: float(np.mean([r[c] for r in rows])) for c in COLUMNS[1:]}
    out.append(line(["mean", f"{mean['objects']:.1f}", f"{mean['grasps']:.1f}"]
                    + [f"{mean[c]:.3f}" for c in COLUMNS[3:]]))
    grasps = sum(r["grasps"] for r in rows)
    if grasps:
        per = {c: sum(r[c] for r in rows) / grasps for c in COLUMNS[3:]}
        out.append(line(["per grasp", "", ""] + [f"{per[c]:.3f}" for c in COLUMNS[3:]]))
    out.append("seconds; 'integration' = 40^3 TSDF + 120^3 surface cloud; 'execution' = grasp trial + settling")
    return "\n".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        rows = time_rounds(args)
    except IGDError as e:
        print(f"bench_round: error: {e}", file=sys.stderr)
        return 2
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
