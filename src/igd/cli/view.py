r"""Write an offline HTML viewer (and a PNG) of a planner's grasps on a simulated scene.

examples:
  # VGN's released weights on packed scene 0 (round 0 of benchmark seed 0): page and snapshot
  igd view --planner vgn --scene packed --seed 0 --out view.html --png view.png

  # IGD: the affordance heat and 8 denoising paths at the best grasp (or at a point, metres)
  igd view --planner igd-packed --scene pile --seed 3 --samples 8 --out igd.html
  igd view --planner igd --weights runs/train/igd/last.pt --point 0.15 0.12 0.09 --out igd.html

  # a noiseless depth image, more grasps, a lower heat threshold
  igd view --planner vgn --weights weights/vgn_conv.pth --noise none --top 10 --heat-threshold 0.3

The page is one file with its data and three.js inline (no network); open it in any browser with
WebGL. Drag (or one finger) to orbit, right- or shift-drag (two fingers) to pan, wheel (pinch) to zoom;
checkboxes toggle the layers, among them the simulator's true object meshes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igd.cli._common import PLANNER_HELP, WEIGHTS_HELP, add_threads_option, parse_assignments
from igd.errors import IGDError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd view``."""
    p = parser.add_argument
    p("--planner", required=True, help=PLANNER_HELP)
    p("--weights", help=WEIGHTS_HELP)
    p("--scene", choices=("packed", "pile"), default="packed", help="scene type (default: packed)")
    p("--seed", type=int, default=0,
      help="scene seed: the scene of round 0 of 'igd bench --seeds SEED' (default: 0)")
    p("--objects", default="test", help="object split joined to the scene ('test' -> packed/test) or a set name, "
                                        "e.g. blocks, as igd bench (default: test)")
    p("--object-count", type=int, default=5, help="objects in the scene (default: 5)")
    p("--noise", default="dex", help="depth noise model: none, dex, lateral, depth, blur, stereo (default: dex)")
    p("--top", type=int, default=5, help="grasps drawn, best first (default: 5)")
    p("--out", default="view.html", help="the HTML file to write (default: view.html)")
    p("--png", help="also write a PNG snapshot here")
    p("--point", type=float, nargs=3, metavar=("X", "Y", "Z"),
      help="where the denoising paths start, workspace metres (default: the best grasp's position)")
    p("--samples", type=int, default=8, help="denoising paths drawn (diffusion planners; default: 8)")
    p("--heat-threshold", type=float, default=0.5,
      help="heat voxels (affordance or quality) at or below this are not drawn (default: 0.5)")
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="a planner config field, e.g. --set threshold=0.8 or --set force=true (repeatable)")
    add_threads_option(parser)


def load_view_planner(name: str, weights: str | None, overrides: dict, threads: int | None = None):
    """``(planner, label)`` of ``--planner`` / ``--weights`` (:func:`igd.released.resolve_planner`)."""
    from igd.api import load

    detector = load(name, weights=weights, threads=threads, **overrides)
    return detector.planner, detector.name


def run(args: argparse.Namespace) -> int:
    """Simulate the scene, plan, write the page (and the PNG)."""
    if args.top < 0 or args.samples < 1:
        raise IGDError(f"--top must be >= 0 and --samples >= 1, got {args.top} and {args.samples}")
    from igd.threads import configure_threads

    configure_threads(args.threads)
    from igd.bench.clutter_removal import seed_planner
    from igd.viz import write_view
    from igd.viz.simulated import observe_scene

    planner, label = load_view_planner(args.planner, args.weights, parse_assignments(args.planner_set), args.threads)
    view = observe_scene(args.scene, args.seed, args.object_count, args.noise, args.objects)
    seed_planner(planner, view.planner_seed)
    grasps = planner.timed_plan(view.observation)
    meta = {"planner": label, "scene": args.scene, "seed": args.seed, "objects": view.object_count,
            "noise": args.noise, "grasps": len(grasps)}
    title = f"{label} · {args.scene} scene · seed {args.seed}"
    layers = write_view(planner, view.observation, grasps, args.out, png=args.png, top=args.top,
                        point=args.point, samples=args.samples, seed=args.seed,
                        heat_threshold=args.heat_threshold, title=title, meta=meta, objects=view.objects)
    size = os.path.getsize(args.out) / 1e6
    best = f"best score {grasps.scores[0]:.3f}" if len(grasps) else "no grasp passed the threshold"
    print(f"{label}: {len(grasps)} grasp(s), {best}; {len(layers.mesh_faces)} surface triangles, "
          f"{len(layers.heat_values)} {layers.heat_label} voxels"
          + ("" if layers.traj_quats is None else f", {layers.traj_quats.shape[1]} denoising paths"))
    for note in layers.notes:
        print(f"note: {note}")
    print(f"wrote {_shown(Path(args.out))} ({size:.2f} MB)")
    if args.png:
        print(f"wrote {_shown(Path(args.png))}")
    return 0


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return path.as_posix() if rel.startswith("..") else rel
