r"""Detect grasps in one depth image and write them in the world frame (docs/frames.md).

examples:
  # try it on a simulated packed scene: write example inputs, then detect with VGN's released weights
  igd detect --example example/
  igd detect --depth example/depth.png --intrinsics example/K.json --extrinsic example/T.json \
      --workspace example/WS.json --planner vgn --top 10 --out grasps.json

  # a depth image in metres (.npy), a planner trained here, a stricter quality threshold
  igd detect --depth scan.npy --intrinsics K.json --extrinsic T.json --workspace WS.json \
      --planner igd-packed --set threshold=0.8 --out grasps.json

  # a 16-bit PNG in 0.1 mm counts, and a checkpoint written by igd train
  igd detect --depth scan.png --depth-scale 0.0001 --intrinsics K.json --extrinsic T.json \
      --workspace WS.json --planner runs/train/giga/last.pt

inputs:
  depth    16-bit PNG in millimetres, or .npy float (H, W) in metres; 0 = no reading
  K.json   {"width": 640, "height": 480, "fx": 540, "fy": 540, "cx": 320, "cy": 240}
           or {"width": 640, "height": 480, "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]} (pixels)
  T.json   the extrinsic T_cam_world, world -> camera (OpenCV: x right, y down, z forward):
           {"matrix": [[...4x4, row-major...]]} or {"translation": [x, y, z], "quaternion": [x, y, z, w]};
           add "convention": "T_world_cam" to give the camera's pose in the world instead
  WS.json  the workspace: pose T_world_ws of the corner of the 0.3 m cube [0, 0.3]^3 (z up from the
           table), same keys as T.json, and "size": 0.3 (optional; the planners know only 0.3)

threads: one per core, waiting passively (OMP_WAIT_POLICY=PASSIVE), unless --threads N, IGD_THREADS or
  OMP_NUM_THREADS says otherwise; torch's own spinning threads were many times slower when other jobs
  share the cores (docs/results.md, "Planning latency and threads").

output (--out): {"planner", "frame": "world", "units", "workspace", "grasps": [{"pose": 4x4 T_world_grasp,
  "position": [x, y, z], "quaternion": [x, y, z, w], "width", "score"}, ...]}, best first; metres.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igd.cli._common import PLANNER_HELP, WEIGHTS_HELP, add_threads_option, parse_assignments
from igd.errors import IGDError

_INPUTS = ("depth", "intrinsics", "extrinsic", "workspace")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd detect``."""
    p = parser.add_argument
    p("--depth", help="depth image: 16-bit .png in millimetres or .npy in metres (0 = no reading)")
    p("--intrinsics", help="K.json: width, height and fx, fy, cx, cy (or a 3x3 K), pixels")
    p("--extrinsic", help="T.json: T_cam_world (world -> camera), a 4x4 'matrix' or 'translation' + 'quaternion'")
    p("--workspace", help="WS.json: pose T_world_ws of the workspace cube's corner in the world, and 'size': 0.3")
    p("--planner", default="vgn", help=PLANNER_HELP + " (default: vgn)")
    p("--weights", help=WEIGHTS_HELP)
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="a planner config field, e.g. --set threshold=0.8 or --set device=cuda (repeatable)")
    p("--top", type=int, default=10, help="write at most this many grasps, best first (default: 10)")
    p("--depth-scale", type=float,
      help="metres per stored depth unit, overriding the file's (PNG: 0.001, millimetres; .npy: 1, metres)")
    p("--out", help="write the grasps to this JSON file (default: print the summary only)")
    p("--example", metavar="DIR",
      help="write example inputs of a simulated scene (depth.png, depth.npy, K.json, T.json, WS.json) to DIR "
           "and stop")
    p("--example-objects", default="packed/test",
      help="object set of the example scene; objects are processed on first use, 'blocks' is quick "
           "(default: packed/test)")
    p("--example-seed", type=int, default=0, help="seed of the example scene (default: 0)")
    add_threads_option(parser)


def run(args: argparse.Namespace) -> int:
    """``--example``: write example inputs; otherwise read the inputs, detect, print, write ``--out``."""
    if args.example:
        return _write_example(args)
    missing = [f"--{name}" for name in _INPUTS if not getattr(args, name)]
    if missing:
        raise IGDError(f"missing {', '.join(missing)}: detect needs a depth image, K.json, T.json and WS.json "
                       "(or --example DIR to write some)")
    if args.top < 1:
        raise IGDError(f"--top must be a positive integer, got {args.top}")
    from igd.threads import configure_threads

    threads = configure_threads(args.threads)  # before numpy and torch load: their pools start at this size
    from igd import inputs
    from igd.api import load

    intrinsic = inputs.read_intrinsics(args.intrinsics)
    T_cam_world = inputs.read_extrinsic(args.extrinsic)
    workspace = inputs.read_workspace(args.workspace)
    depth = inputs.read_depth(args.depth, args.depth_scale)
    if depth.shape != (intrinsic.height, intrinsic.width):
        raise IGDError(f"{args.depth} is {depth.shape[1]}x{depth.shape[0]} (W x H) but {args.intrinsics} says "
                       f"{intrinsic.width}x{intrinsic.height}: the depth image and the intrinsics must match")
    detector = load(args.planner, weights=args.weights, threads=args.threads,
                    **parse_assignments(args.planner_set))
    detections = detector.detect(depth, intrinsic, T_cam_world, workspace, top=args.top)
    print(format_detections(detections, args.depth, threads=threads))
    if args.out:
        out = inputs.write_grasps(args.out, detections, workspace,
                                  {"inputs": {name: str(getattr(args, name)) for name in _INPUTS}})
        print(f"wrote {_shown(out)}")
    return 0


def format_detections(detections, source: str, rows: int = 5, threads: int | None = None) -> str:
    """A short summary: how many grasps, the timings (and the planning ``threads``), the best ``rows`` grasps."""
    info = detections.info
    on = "" if threads is None else f" on {threads} thread{'s' * (threads != 1)}"
    head = (f"{detections.planner}: {len(detections)} grasp(s) in the world frame from {source} "
            f"(fusion {1e3 * info.get('integration_time', 0.0):.0f} ms, "
            f"planning {1e3 * info.get('planning_time', 0.0):.0f} ms{on})")
    if len(detections) == 0:
        return head + "\nno grasp passed the planner's threshold (try --set force=true or a lower threshold)"
    lines = [head, "  rank  score  width(m)  position x, y, z (m)      quaternion x, y, z, w"]
    for i in range(min(rows, len(detections))):
        x, y, z = detections.positions[i]
        q = ", ".join(f"{v:+.3f}" for v in detections.quaternions[i])
        lines.append(f"  {i + 1:>4}  {detections.scores[i]:.3f}  {detections.widths[i]:.4f}    "
                     f"{x:+.3f}, {y:+.3f}, {z:+.3f}    {q}")
    if len(detections) > rows:
        lines.append(f"  ... {len(detections) - rows} more")
    return "\n".join(lines)


def _write_example(args: argparse.Namespace) -> int:
    from igd.inputs import write_example

    paths = write_example(args.example, objects=args.example_objects, seed=args.example_seed)
    for path in paths.values():
        print(f"wrote {_shown(path)}")
    d = {role: _shown(path) for role, path in paths.items()}
    print(f"next: igd detect --depth {d['depth_png']} --intrinsics {d['intrinsics']} --extrinsic {d['extrinsic']} "
          f"--workspace {d['workspace']} --planner vgn --top 10 --out {_shown(Path(args.example) / 'grasps.json')}")
    return 0


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return Path(path).as_posix() if rel.startswith("..") else rel
