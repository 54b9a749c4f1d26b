"""Compare the grasps of two benchmark runs (``igd bench --out A`` and ``--out B``), ignoring the timing columns.

Every row of ``A/grasps.csv`` must match the same row of ``B/grasps.csv``: text columns exactly,
numbers to ``--rtol`` / ``--atol`` (a checkpoint converted to another width unit gives the same
widths only up to float32 rounding). Used to show that a weights conversion leaves the benchmark
unchanged, e.g. the width-unit conversion of the released GIGA and IGD weights:

    git show HEAD~1:weights/giga-packed.pt > /tmp/giga-packed-old.pt
    OMP_NUM_THREADS=1 igd bench --planner giga --weights /tmp/giga-packed-old.pt --scene packed \\
        --rounds 5 --seeds 0 --workers 1 --out /tmp/giga-old
    OMP_NUM_THREADS=1 igd bench --planner giga --weights weights/giga-packed.pt --scene packed \\
        --rounds 5 --seeds 0 --workers 1 --out /tmp/giga-new
    .venv/bin/python benchmarks/compare_grasps.py /tmp/giga-old /tmp/giga-new

Exit status 0 when the runs agree, 1 otherwise (the first differences are printed).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

TIMING = ("integration_time", "planning_time")


def _rows(run: Path) -> list:
    with (run / "grasps.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def _same(a: str, b: str, rtol: float, atol: float) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)
    except ValueError:
        return False


def compare(a: Path, b: Path, rtol: float = 1e-5, atol: float = 1e-7) -> list:
    """The differences between the grasps of runs ``a`` and ``b`` (empty when they agree)."""
    rows_a, rows_b = _rows(a), _rows(b)
    if len(rows_a) != len(rows_b):
        return [f"{len(rows_a)} grasps in {a}, {len(rows_b)} in {b}"]
    problems = []
    for i, (ra, rb) in enumerate(zip(rows_a, rows_b)):
        for key in sorted(set(ra) | set(rb)):
            if not _same(ra.get(key, ""), rb.get(key, ""), rtol, atol):
                problems.append(f"row {i} ({ra.get('scene_id')}): {key} {ra.get(key)!r} vs {rb.get(key)!r}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="a benchmark output folder (grasps.csv)")
    parser.add_argument("b", type=Path, help="another")
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--atol", type=float, default=1e-7)
    args = parser.parse_args(argv)
    problems = compare(args.a, args.b, args.rtol, args.atol)
    n = len(_rows(args.a))
    if problems:
        print(f"{len(problems)} differences:", *problems[:20], sep="\n  ")
        return 1
    widths = [(float(x["width"]), float(y["width"])) for x, y in zip(_rows(args.a), _rows(args.b))]
    worst = max((abs(x - y) for x, y in widths), default=0.0)
    print(f"the same {n} grasps (columns other than {', '.join(TIMING)}); largest width difference {worst:.2e} m")
    return 0


if __name__ == "__main__":
    sys.exit(main())
