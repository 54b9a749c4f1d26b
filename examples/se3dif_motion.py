"""Grasp-and-motion optimisation with SE(3)-DiF's energy as the cost (igd.planners.se3dif.motion).

Plans grasps on a synthetic scene (a box on the table) with an se3dif checkpoint, then optimises the best
grasp together with an 8-waypoint approach of the free-floating hand from a start 15 cm back along its
approach axis, under the learned energy + smoothness + collision with the TSDF + the table. Prints the
cost terms before and after and writes the path as an (8, 4, 4) array.

    python examples/se3dif_motion.py --weights se3dif-packed --out runs/se3dif-path.npy   # or a checkpoint path
    python examples/se3dif_motion.py --random  # random tiny weights: shows the API, not a good grasp
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from igd.constants import RESOLUTION, TABLE_HEIGHT, TRUNCATION, VOXEL_SIZE
from igd.errors import IGDError


def box_scene() -> np.ndarray:
    """A fully observed 5 × 4 × 6 cm box on the table, encoded ``(1, 40, 40, 40)``."""
    idx = np.stack(np.meshgrid(*[np.arange(RESOLUTION)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    c = (idx + 0.5) * VOXEL_SIZE
    q = np.abs(c - [0.15, 0.15, 0.08]) - [0.025, 0.02, 0.03]
    sdf = np.minimum(np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0), c[:, 2] - TABLE_HEIGHT)
    tsdf = np.clip(sdf / TRUNCATION, -1, 1)
    return np.where((tsdf >= -0.98) & (tsdf < 0.98), (tsdf + 1) / 2, 0).astype(np.float32).reshape(1, 40, 40, 40)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="an se3dif checkpoint path (igd train's best.pt) or a released name (se3dif-packed)")
    parser.add_argument("--random", action="store_true", help="random tiny weights instead (API demo)")
    parser.add_argument("--iterations", type=int, default=100, help="gradient steps (default: 100)")
    parser.add_argument("--out", help="write the optimised path (W, 4, 4) here (.npy)")
    args = parser.parse_args(argv)
    try:
        import igd
        from igd.planners.base import Observation
        from igd.planners.se3dif import SE3DiFConfig, SE3DiFPlanner
        from igd.planners.se3dif.motion import MotionConfig, refine_grasp

        if args.random:
            planner = SE3DiFPlanner(SE3DiFConfig(features=8, unet_filters=8, schedule="fast", samples=64,
                                                  noise_scale=0.05))
        elif args.weights:
            planner = igd.load(args.weights).planner
            if planner.name != "se3dif":
                raise IGDError(f"{args.weights} holds a '{planner.name}' planner, not an se3dif one")
        else:
            raise IGDError("give --weights PATH (an se3dif checkpoint) or --random")
        grid = box_scene()
        grasps = planner.plan(Observation(grid))
        if not len(grasps):
            raise IGDError("the planner found no grasp on the box scene")
        energy = planner.energy_fn(planner.encode(grid), sigma=planner._sigma_min())
        result = refine_grasp(energy, grid, grasps.poses[0], MotionConfig(iterations=args.iterations))
    except IGDError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for term in ("total", "energy", "smooth", "collision", "table"):
        print(f"{term:10s} {result.costs[term + '_initial']:10.4f} -> {result.costs[term]:10.4f}")
    moved = np.linalg.norm(result.grasp[:3, 3] - grasps.poses[0][:3, 3])
    print(f"grasp moved {100 * moved:.1f} cm; path of {len(result.waypoints)} waypoints")
    if args.out:
        np.save(args.out, result.waypoints)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
