"""Same weights, same seeds, same benchmark output: before and after a refactoring.

``record`` plays a few benchmark rounds of every planner (each released name and ``topdown``, on
both scene types, one worker, no Ray) with the code that is installed, and keeps their
``grasps.csv`` and ``rounds.csv`` without the timing columns; ``compare`` says, planner by planner,
whether two recordings are identical, and where the first difference is.

    # at the commit before the change, from a worktree of it:
    PYTHONPATH=/path/to/old/src python benchmarks/check_unchanged.py record --out runs/unchanged/before
    # after:
    python benchmarks/check_unchanged.py record --out runs/unchanged/after
    python benchmarks/check_unchanged.py compare runs/unchanged/before runs/unchanged/after

``record`` resumes: a planner whose folder is complete is not played again.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

#: Columns that measure time (they differ from run to run by nature).
TIMING = ("integration_time", "planning_time")
DEFAULT_PLANNERS = ("topdown", "vgn", "vgn-packed", "giga-packed", "igd-packed", "giga-packed-authors",
                    "vgn-packed-authors", "vgn-pile", "giga-pile", "igd-pile", "giga-pile-authors",
                    "vgn-pile-authors", "giga-packed-v1", "giga-pile-v1",
                    "giga-packed-scratch", "giga-pile-scratch", "igd-packed-scratch",
                    "igd-pile-scratch", "igd-packed-transfer", "giga-packed-mined",
                    "igd-pile-transfer", "giga-pile-mined")


def strip(path: Path) -> list[list[str]]:
    """The rows of a benchmark CSV (header first) without its timing columns."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SystemExit(f"error: {path} is empty")
    keep = [i for i, name in enumerate(rows[0]) if name not in TIMING]
    return [[r[i] for i in keep] for r in rows]


def record(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for planner in args.planners:
        scene = args.scene or ("pile" if "pile" in planner else "packed")
        folder = out / f"{planner}-{scene}"
        done = folder / "stripped.json"
        if done.exists():
            print(f"{planner} ({scene}): recorded already", flush=True)
            continue
        cmd = [sys.executable, "-m", "igd.cli.main", "bench", "--planner", planner, "--scene", scene,
               "--rounds", str(args.rounds), "--seeds", *map(str, args.seeds), "--workers", "1",
               "--out", str(folder / "bench"), "--no-progress", "--resume"]
        print(" ".join(cmd), flush=True)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        if subprocess.call(cmd, env=env) != 0:
            raise SystemExit(f"error: the benchmark of {planner} failed")
        tables = {name: strip(folder / "bench" / name) for name in ("grasps.csv", "rounds.csv")}
        if len(tables["grasps.csv"]) < 2:
            raise SystemExit(f"error: {planner} executed no grasp in {args.rounds} rounds: nothing to compare")
        done.write_text(json.dumps(tables))
        print(f"{planner} ({scene}): {len(tables['grasps.csv']) - 1} grasps", flush=True)


def compare(args) -> None:
    a, b = Path(args.before), Path(args.after)
    names = sorted(p.parent.name for p in a.glob("*/stripped.json"))
    if not names:
        raise SystemExit(f"error: no recording in {a}")
    failed = 0
    for name in names:
        other = b / name / "stripped.json"
        if not other.exists():
            print(f"{name}: missing in {b}")
            failed += 1
            continue
        ta, tb = json.loads((a / name / "stripped.json").read_text()), json.loads(other.read_text())
        verdict = "identical"
        for table in ("grasps.csv", "rounds.csv"):
            if ta[table] != tb[table]:
                first = next((i for i, (x, y) in enumerate(zip(ta[table], tb[table])) if x != y),
                             min(len(ta[table]), len(tb[table])))
                verdict = f"DIFFERENT: {table} row {first}"
                failed += 1
                break
        print(f"{name}: {len(ta['grasps.csv']) - 1} grasps, {len(ta['rounds.csv']) - 1} rounds: {verdict}")
    raise SystemExit(1 if failed else 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="play and keep a few rounds of every planner")
    r.add_argument("--out", required=True)
    r.add_argument("--planners", nargs="+", default=list(DEFAULT_PLANNERS))
    r.add_argument("--scene", choices=("pile", "packed"), help="default: pile for *-pile* names, else packed")
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    c = sub.add_parser("compare", help="are two recordings identical?")
    c.add_argument("before")
    c.add_argument("after")
    args = ap.parse_args()
    record(args) if args.command == "record" else compare(args)


if __name__ == "__main__":
    main()
