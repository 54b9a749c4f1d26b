r"""The demo: a short clutter-removal run of released planners side by side, and its report.

Runs a few benchmark rounds on packed scenes (side view, dex noise) for each planner, then a viewer
page and a PNG of every planner's grasps on one scene, then a report folder (summary table, plots,
snapshots, viewers) whose path it prints. Resumable: a second call reuses the finished rounds.

A smoke run: with fewer than 100 rounds (the default plays 3 rounds of one seed) it shows that
everything runs, not how the planners rank; it says so in its output and report. How they rank is in
the joint run of docs/results.md (5 seeds x 20 rounds per cell).

examples:
  # the default: our IGD weights beside our GIGA weights, 3 rounds of seed 0 each
  igd demo --out runs/demo

  # other planners (released names or checkpoint paths), more rounds, pile scenes
  igd demo --planners igd-pile giga-pile vgn --scene pile --rounds 10 --out runs/demo-pile

outputs (in --out):
  bench/<planner>/  the benchmark runs     views/  viewer pages and PNGs     report/README.md
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igd.errors import IGDError

#: The planners the demo shows by default, and the one it falls back on while they are not released.
DEFAULT_PLANNERS = ("igd-packed", "giga-packed")
FALLBACK = "vgn"
#: Rounds per planner of the joint run (docs/results.md, 5 seeds x 20); fewer make a smoke run.
JOINT_ROUNDS = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from igd.cli._common import add_threads_option

    p = parser.add_argument
    p("--planners", nargs="+", default=list(DEFAULT_PLANNERS),
      help=f"released names or checkpoint paths (default: {' '.join(DEFAULT_PLANNERS)}; a released name whose "
           f"weights are not in this checkout is replaced by '{FALLBACK}')")
    p("--scene", choices=("packed", "pile"), default="packed", help="scene type (default: packed)")
    p("--rounds", type=int, default=3, help="benchmark rounds per planner (default: 3)")
    p("--seed", type=int, default=0, help="benchmark seed; the viewer shows round 0 of it (default: 0)")
    p("--noise", default="dex", help="depth noise model (default: dex)")
    p("--objects", default="test", help="object split joined to the scene, or a set name, e.g. blocks (default: test)")
    p("--workers", type=int, default=os.cpu_count() or 1, help="simulation workers (default: number of CPUs)")
    p("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p("--no-progress", action="store_true", help="no progress bars")
    add_threads_option(parser)


def choose_planners(names) -> list[tuple[str, str, str | None]]:
    """``(label, planner type, weights)`` per name; released names without weights fall back to VGN's."""
    from igd.released import RELEASED, resolve

    chosen, seen = [], set()
    for name in names:
        try:
            kind, weights, label = resolve(name)
        except IGDError:
            if name not in RELEASED:
                raise
            print(f"note: {name} is not released in this checkout yet; showing '{FALLBACK}' instead")
            kind, weights, label = resolve(FALLBACK)
        if kind is None:  # a checkpoint path: its own type tag decides
            from igd.planners.base import read_checkpoint

            kind = read_checkpoint(weights)["planner"]
        if label not in RELEASED:  # a checkpoint path: name it by its file
            label = Path(label).stem
        if label in seen:
            continue
        seen.add(label)
        chosen.append((label, RELEASED[label].planner if label in RELEASED else kind,
                       None if weights is None else str(weights)))
    return chosen


def run(args: argparse.Namespace) -> int:
    if args.rounds < 1:
        raise IGDError(f"--rounds must be >= 1, got {args.rounds}")
    from igd.threads import configure_threads

    configure_threads(args.threads)
    from igd.bench.config import BenchConfig
    from igd.bench.runner import run_benchmark
    from igd.report import write_report

    out = Path(args.out)
    planners = choose_planners(args.planners)
    smoke = args.rounds < JOINT_ROUNDS
    if smoke:
        print(f"note: {smoke_line(args.rounds, args.seed)}")
    run_dirs, labels, attempts = [], {}, {}
    for label, kind, weights in planners:
        run_dir = out / "bench" / label
        cfg = BenchConfig(planner=kind, weights=weights, scene=args.scene, objects=args.objects,
                          rounds=args.rounds, seeds=[args.seed],
                          noise=args.noise, views="side", workers=args.workers, out=str(run_dir))
        print(f"== {label}: {args.rounds} round(s) on {args.scene} scenes, seed {args.seed}")
        summary = run_benchmark(cfg, progress=not args.no_progress, resume=True)
        print(f"   GSR {_pct(summary['gsr'])}, DR {_pct(summary['dr'])} "
              f"({args.rounds} round(s) of seed {args.seed}, {summary['attempts']} grasp(s))")
        attempts[label] = summary["attempts"]
        run_dirs.append(run_dir)
        labels[str(run_dir)] = label

    snapshots, pages = [], []
    for label, kind, weights in planners:
        html, png = write_scene_view(label, kind, weights, args.scene, args.seed, args.noise, args.objects,
                                     out / "views")
        pages.append(html)
        snapshots.append(png)
    notes = [smoke_note(args.rounds, args.seed, attempts, out / "report")] if smoke else []
    readme = write_report(run_dirs, out / "report", labels=labels, notes=notes,
                          extras=[("Scene snapshots: the chosen grasps on round 0", snapshots),
                                  ("Interactive viewers (open in a browser, offline)", pages)])
    from igd.cli.report import summary_table

    print(summary_table(readme))
    if smoke:
        print(f"note: {smoke_line(args.rounds, args.seed)}")
    print(f"report: {readme}")
    return 0


def smoke_line(rounds: int, seed: int) -> str:
    """The console's word that this is a smoke run, and where the rankings are."""
    return (f"a smoke run: {rounds} round(s) of seed {seed} per planner show that everything runs, not how the "
            f"planners rank (that needs many more rounds: the joint run of docs/results.md plays 5 seeds x 20)")


def results_link(report_dir: Path) -> str:
    """docs/results.md, linked relative to ``report_dir`` when this is a source checkout."""
    import igd

    page = Path(igd.__file__).resolve().parents[2] / "docs" / "results.md"
    if not page.is_file():
        return "docs/results.md of the igd repository"
    return f"[docs/results.md]({Path(os.path.relpath(page, Path(report_dir).resolve())).as_posix()})"


def smoke_note(rounds: int, seed: int, attempts: dict, report_dir: Path) -> str:
    """The report's note on a smoke run: its sample size, and where the rankings are."""
    grasps = ", ".join(f"{label} {n}" for label, n in attempts.items())
    return (f"**A smoke run**: {rounds} round(s) of seed {seed} per planner (grasps: {grasps}). It shows that "
            "the pipeline runs end to end, not how the planners rank: one seed has no spread to show, and so "
            "few grasps leave each GSR uncertain by many points. For the ranking see the joint run, 5 seeds × "
            f"20 rounds per cell, in {results_link(report_dir)}.")


def _pct(value) -> str:
    return "n/a (no attempt)" if value is None else f"{value:.1f} %"


def write_scene_view(label: str, kind: str, weights, scene: str, seed: int, noise: str, objects: str,
                     folder: Path):
    """The viewer page and PNG of planner ``label`` on round 0 of ``seed``; returns their paths."""
    from igd.bench.clutter_removal import seed_planner
    from igd.planners.base import load_planner
    from igd.viz import write_view
    from igd.viz.simulated import observe_scene

    planner = load_planner(kind, weights)
    view = observe_scene(scene, seed, 5, noise, objects)
    seed_planner(planner, view.planner_seed)
    grasps = planner.timed_plan(view.observation)
    folder.mkdir(parents=True, exist_ok=True)
    html, png = folder / f"{label}.html", folder / f"{label}.png"
    write_view(planner, view.observation, grasps, html, png=png, top=5, seed=seed,
               title=f"{label} · {scene} scene · seed {seed}",
               meta={"planner": label, "scene": scene, "seed": seed, "noise": noise, "grasps": len(grasps)})
    print(f"   {label}: {len(grasps)} grasp(s) on round 0 of seed {seed}; wrote {html} and {png}")
    return html, png
