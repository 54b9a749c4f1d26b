"""Print a markdown table of benchmark runs from their ``summary.json`` files.

    .venv/bin/python benchmarks/table.py runs/peer_vgn/*/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def row(summary: dict) -> str:
    def pm(key: str) -> str:
        return f"{summary[key]:.1f} ± {summary[key + '_std']:.1f}" if summary.get(key) is not None else "–"

    n_rounds = summary["rounds_per_seed"] * len(summary["seeds"])
    return (f"| {summary['planner']} | {summary['scene']} | {summary['views']} | {summary['noise']} | {pm('gsr')} | "
            f"{pm('dr')} | {summary['successes']}/{summary['attempts']} | {summary['objects']} | {n_rounds} | "
            f"{1000 * summary['planning_time_mean']:.0f} | {1000 * summary['integration_time_mean']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="benchmark output folders (holding summary.json)")
    args = ap.parse_args()
    print("| planner | scene | views | noise | GSR % | DR % | successes/attempts | objects | rounds | plan ms | fuse ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        path = run / "summary.json"
        if path.is_file():
            print(row(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
