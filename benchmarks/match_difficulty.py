"""Match the difficulty of pile/test to the papers': run a planner on candidate test sets.

Each candidate is a list of object names outside the train pools (docs/objects.md, "How the
difficulty was matched"); it is registered in-process as the set ``pile/candidate-<name>`` and run
with ``igd bench``'s options (one worker: the registration lives in this process). Validation seeds
only, never the benchmark's test seeds 0-4. Resumable (``--resume`` is always on).

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/match_difficulty.py --candidate A \\
        --planner giga-pile-authors --scene pile --seeds 100 101 102 103 --rounds 25 --out runs/match/pile-A
    .venv/bin/python benchmarks/match_difficulty.py --table runs/match/*/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _kinds(counts: dict) -> list:
    """``{"hammer": 3, ...}`` -> gen/hammer_000 .. gen/hammer_002, ..."""
    return [f"gen/{kind}_{i:03d}" for kind, n in counts.items() for i in range(n)]


NEW_KINDS = ("hammer", "pliers", "shoe", "donut", "bulb", "bowl", "mug", "spraycan", "wrench", "jar")
CANDIDATES = {
    # every test-only kind but the big boxes, 4 of each: how hard the new kinds are on their own
    "A": _kinds({k: 4 for k in NEW_KINDS}),
}


def register(name: str, members: list) -> str:
    """Make ``pile/candidate-<name>`` a set of this process; returns the set name."""
    from igd.sim import assets, objects

    names = set(objects._train_pool())
    crossed = sorted(set(members) & names)
    if crossed:
        raise SystemExit(f"candidate {name}: train objects {crossed}")
    set_name = f"pile/candidate-{name}"
    known, members_of = objects.object_set_names, objects._members

    objects.object_set_names = lambda: known() + [set_name]
    objects._members = lambda n: tuple(sorted(members)) if n == set_name else members_of(n)
    for m in members:  # every candidate object must process
        assets.generate_shape(m[4:]) if m.startswith("gen/") else None
    return set_name


def table(folders: list) -> str:
    rows = ["| run | objects | rounds | GSR % | DR % | successes/attempts |", "|---|---|---|---|---|---|"]
    for folder in folders:
        path = Path(folder) / "summary.json"
        if not path.exists():
            continue
        s = json.loads(path.read_text())
        cfg = json.loads((Path(folder) / "config.json").read_text())
        get = lambda k: s.get(k, s.get("metrics", {}).get(k))  # noqa: E731
        gsr, dr = get("gsr"), get("dr")
        fmt = lambda v: f"{v['mean'] * 100:.1f} ± {v['std'] * 100:.1f}" if isinstance(v, dict) else f"{v}"  # noqa: E731
        rows.append(f"| {Path(folder).name} | {cfg.get('objects')} | {get('rounds')} | {fmt(gsr)} | {fmt(dr)} | "
                    f"{get('successes')}/{get('attempts')} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    from igd.cli.bench import add_arguments, config_from_args

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", help=f"candidate set: {', '.join(CANDIDATES)} (else --objects as given)")
    parser.add_argument("--table", nargs="+", metavar="RUN", help="print the table of finished runs and exit")
    add_arguments(parser)
    if argv is None:
        argv = sys.argv[1:]
    if "--table" in argv:
        print(table(argv[argv.index("--table") + 1:]))
        return 0
    args = parser.parse_args(argv)
    if args.candidate:
        args.objects = register(args.candidate, CANDIDATES[args.candidate])
    args.workers = 1
    from igd.bench import format_summary, run_benchmark

    cfg = config_from_args(args)
    print(format_summary(run_benchmark(cfg, progress=not args.no_progress, resume=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
