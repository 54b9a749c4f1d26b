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
    # 3 of each kind (2 of the easiest: bulbs, spray cans, jars), 8 big boxes, and the YCB objects GIGA
    # found hardest in pile/test-v1
    "B": _kinds({**{k: 3 for k in NEW_KINDS}, "bulb": 2, "spraycan": 2, "jar": 2, "bigbox": 8})
    + ["ycb/036_wood_block", "ycb/003_cracker_box", "ycb/004_sugar_box", "ycb/007_tuna_fish_can",
       "ycb/010_potted_meat_can"],
    # B with 6 big boxes (they took 35 % of B's attempts), a fourth wrench and YCB's power drill
    "C": _kinds({**{k: 3 for k in NEW_KINDS}, "bulb": 2, "spraycan": 2, "jar": 2, "wrench": 4, "bigbox": 6})
    + ["ycb/036_wood_block", "ycb/003_cracker_box", "ycb/004_sugar_box", "ycb/007_tuna_fish_can",
       "ycb/010_potted_meat_can", "ycb/035_power_drill"],
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
    for m in members:  # every generated candidate must exist
        if m.startswith("gen/"):
            assets.generate_shape(m[4:])
    return set_name


def table(folders: list) -> str:
    rows = ["| run | objects | seeds x rounds | GSR % | DR % | successes/attempts |", "|---|---|---|---|---|---|"]
    for folder in folders:
        path = Path(folder) / "summary.json"
        if not path.exists():
            continue
        s = json.loads(path.read_text())
        seeds = s["per_seed"].values()
        ok, n = sum(v["successes"] for v in seeds), sum(v["attempts"] for v in seeds)
        rows.append(f"| {Path(folder).name} | {s['object_set']} | {len(s['seeds'])} x {s['rounds_per_seed']} | "
                    f"{s['gsr']:.1f} ± {s['gsr_std']:.1f} | {s['dr']:.1f} ± {s['dr_std']:.1f} | {ok}/{n} |")
    return "\n".join(rows)


def per_kind(folder: str) -> str:
    """Success / attempts per object kind (the object each grasp was aimed at), from the round files."""
    counts: dict = {}
    for path in sorted(Path(folder, "rounds").glob("*.json")):
        for g in json.loads(path.read_text())["grasps"]:
            name = g.get("target_name") or "?"
            kind = name.rsplit("_", 1)[0] if name.startswith("gen/") else name
            ok, n = counts.get(kind, (0, 0))
            counts[kind] = (ok + int(g["label"]), n + 1)
    return "  ".join(f"{k} {ok}/{n}" for k, (ok, n) in sorted(counts.items(), key=lambda kv: kv[1][0] / kv[1][1]))


def main(argv=None) -> int:
    from igd.cli.bench import add_arguments, config_from_args

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", help=f"candidate set: {', '.join(CANDIDATES)} (else --objects as given)")
    parser.add_argument("--table", nargs="+", metavar="RUN", help="print the table of finished runs and exit")
    add_arguments(parser)
    if argv is None:
        argv = sys.argv[1:]
    if "--table" in argv:
        folders = argv[argv.index("--table") + 1:]
        print(table(folders))
        for folder in folders:
            print(f"\n{Path(folder).name}: {per_kind(folder)}")
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
