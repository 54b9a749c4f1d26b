"""Plot grasp success against the number of training scenes from benchmark run folders.

    python benchmarks/plot_learning_curve.py 50=runs/results/packed/giga-curve-50 ... \
        --reference runs/results/packed/giga-authors --reference runs/results/packed/topdown \
        --out docs/img/learning-curve-giga-packed.png

Each ``N=FOLDER`` is one size: its ``summary.json`` gives the GSR (mean over seeds) and its spread (the
standard deviation over seeds, drawn as an error bar); the sizes of each planner (the ``planner`` its
summary names: GIGA's and IGD's curves on one plot) make one line. ``--reference`` folders are drawn as
horizontal bands (mean ± spread). Prints the table in Markdown.

``--points CSV`` adds sizes recorded in a table instead of run folders (columns ``planner, scenes, gsr,
gsr_std, dr, attempts, scene, seeds, rounds_per_seed, source``): for curves whose run folders are gone
(a machine lost), drawn from the numbers the same command printed, each row naming its source.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def read(folder: str) -> dict:
    path = Path(folder) / "summary.json"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found: run the benchmark of that folder first")
    return json.loads(path.read_text())


def read_points(path: str) -> list[tuple[int, dict]]:
    """The rows of a ``--points`` table as (scenes, summary-like dict)."""
    need = ("planner", "scenes", "gsr", "gsr_std", "dr", "attempts", "scene", "seeds", "rounds_per_seed", "source")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise SystemExit(f"error: {path}: {e.strerror}") from None
    if not rows or set(need) - set(rows[0]):
        raise SystemExit(f"error: {path}: expected the columns {', '.join(need)}")
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            first, last = (int(x) for x in r["seeds"].split("-"))
            out.append((int(r["scenes"]), {
                "planner": r["planner"], "gsr": float(r["gsr"]), "gsr_std": float(r["gsr_std"]), "dr": float(r["dr"]),
                "attempts": int(r["attempts"]), "scene": r["scene"], "seeds": list(range(first, last + 1)),
                "rounds_per_seed": int(r["rounds_per_seed"]), "source": r["source"]}))
        except ValueError as e:
            raise SystemExit(f"error: {path} line {i}: {e}") from None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", metavar="N=FOLDER")
    ap.add_argument("--points", action="append", default=[], metavar="CSV", help="sizes recorded in a table")
    ap.add_argument("--reference", action="append", default=[], metavar="FOLDER")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    points = []
    for item in args.sizes:
        n, _, folder = item.partition("=")
        if not folder or not n.isdigit():
            raise SystemExit(f"error: expected N=FOLDER, got {item!r}")
        points.append((int(n), read(folder)))
    for table in args.points:
        points.extend(read_points(table))
    if not points:
        raise SystemExit("error: give at least one N=FOLDER or --points CSV")
    points.sort(key=lambda p: p[0])
    refs = [(Path(f).name, read(f)) for f in args.reference]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6, 4))
    xs = sorted({n for n, _ in points})
    planners = list(dict.fromkeys(s["planner"] for _, s in points))  # in the order given
    for planner in planners:
        mine = [(n, s) for n, s in points if s["planner"] == planner]
        ax.errorbar([n for n, _ in mine], [s["gsr"] for _, s in mine], yerr=[s["gsr_std"] for _, s in mine],
                    marker="o", capsize=3, label=f"{planner} from scratch (ours)")
    for (name, s), colour in zip(refs, ("tab:green", "tab:gray", "tab:red", "tab:purple")):
        ax.axhline(s["gsr"], color=colour, linestyle="--", label=f"{name} ({s['gsr']:.1f})")
        ax.axhspan(s["gsr"] - s["gsr_std"], s["gsr"] + s["gsr_std"], color=colour, alpha=0.1)
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training scenes (120 labelled points each, before balancing)")
    ax.set_ylabel("grasp success rate, % (mean over seeds ± sd)")
    first = points[0][1]
    ax.set_title(f"{first['scene']}, seeds {first['seeds'][0]}-{first['seeds'][-1]} x {first['rounds_per_seed']} rounds")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print("| planner | training scenes | GSR % (± sd over seeds) | DR % | attempts | empty |")
    print("|---|---|---|---|---|---|")
    for n, s in sorted(points, key=lambda p: (planners.index(p[1]["planner"]), p[0])):
        print(f"| {s['planner']} | {n} | {s['gsr']:.1f} ± {s['gsr_std']:.1f} | {s['dr']:.1f} | {s['attempts']} | "
              f"{s.get('causes', {}).get('empty', 'n/a')} |")
    for name, s in refs:
        print(f"| {name} | – | {s['gsr']:.1f} ± {s['gsr_std']:.1f} | {s['dr']:.1f} | {s['attempts']} | "
              f"{s.get('causes', {}).get('empty', 'n/a')} |")
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
