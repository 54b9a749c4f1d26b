"""Negatives for training beyond the balanced rows: the labelled negatives balancing drops, and
certain negatives over the volume, decided by geometry alone.

==========================  ========================================================================
file (processed root)       what
==========================  ========================================================================
``dropped/grasps.csv``     the labelled negatives that clean/balance dropped (inside the volume),
                            same columns as ``grasps.csv``; recomputed from the raw root with the
                            processed root's seed, checked against its ``grasps.csv``
``negatives/<id>.npz``      ``points (M, 3) float32`` metres: voxel centres where the planner may
                            execute a grasp and where every orientation certainly fails;
                            ``candidates ()`` int: the voxels that were eligible
``negatives.json``          the settings (``reach``) and a summary
==========================  ========================================================================

**Which voxels are eligible**: those the post-processing may keep, in the processed (noisy) grid:
:func:`igd.planners.postprocess.surface_mask` inside :func:`~igd.planners.postprocess.zero_borders`,
i.e. where ``igd evaluate`` measures calibration and where the benchmark's arg-max can land.

**Which are certain failures**: no object geometry (the objects' PyBullet collision shapes, from
their URDF, scale and pose in ``mesh_pose_list``: what the simulation collides with) within
:data:`REACH` of the voxel centre. The fingers close on what lies in the closing region between
them; the region the fast labeller's empty check tests (the closing box of
:mod:`igd.data.sampling`, grown by its 3 mm margin) lies, for any orientation of the hand about the
TCP, inside a ball of radius ``|centre| + half extents + margin`` = 71.6 mm; :data:`REACH` adds
another 5 mm, and the distance query another 1 mm of slack (:data:`QUERY_SLACK`). Nothing of an object within that ball means the fingers close on nothing (or the
hand meets the table first): a failure whatever the orientation. The table does not count as
geometry to grasp (it cannot be enclosed), so this is what covers the bare table between objects.
It is conservative: most failures (collisions near objects) are not caught, only the empty ones.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from igd.constants import VOXEL_SIZE
from igd.data import layout
from igd.errors import IGDError

__all__ = ["DROPPED_DIR", "NEGATIVES_DIR", "NEGATIVES_INFO", "REACH", "ObjectProbe", "add_negatives",
           "candidate_voxels", "certain_negatives", "dropped_negatives", "negatives_path", "read_negatives"]

DROPPED_DIR = "dropped"  # dropped/grasps.csv: the grasps.csv layout, read by igd.data.layout.read_grasps
NEGATIVES_DIR = "negatives"
NEGATIVES_INFO = "negatives.json"
NEGATIVE_KEYS = ("points", "candidates")
SAFETY = 0.005  # m added to the closing region's reach
#: PyBullet's sphere-to-shape distances can be short by a fraction of a millimetre (0.25 mm seen
#: against a box): anything this much beyond the ball still counts as within reach.
QUERY_SLACK = 0.001


def _closing_reach() -> float:
    from igd.data.sampling import CLOSING_BOX_CENTRE, CLOSING_BOX_HALF, EMPTY_MARGIN

    corner = np.abs(CLOSING_BOX_CENTRE) + np.asarray(CLOSING_BOX_HALF) + EMPTY_MARGIN
    return float(np.linalg.norm(corner))


#: Metres: no object within this distance of a grasp centre → the fingers close on nothing, for any
#: orientation (the farthest point of the grown closing box from the TCP, 71.6 mm, + 5 mm).
REACH = _closing_reach() + SAFETY


def negatives_path(root, scene_id: str) -> Path:
    return Path(root) / NEGATIVES_DIR / f"{scene_id}.npz"


def read_negatives(root, scene_id: str) -> np.ndarray:
    """The certain negatives of a scene: ``(M, 3)`` float32 metres (IGDError naming the file if bad)."""
    path = negatives_path(root, scene_id)
    if not path.is_file():
        raise IGDError(f"{path}: missing; add certain negatives to the processed root with "
                       f"'igd process RAW {root} --add-negatives'")
    points = layout.load_npz(path, NEGATIVE_KEYS)["points"]
    if points.ndim != 2 or points.shape[1] != 3:
        raise IGDError(f"{path}: points must be (M, 3) metres, got {points.shape}")
    return points.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# the labelled negatives balancing drops
# --------------------------------------------------------------------------------------------------
def dropped_negatives(raw, processed) -> np.ndarray:
    """The raw rows clean/balance dropped for ``processed`` (its seed, from ``process.json``).

    Raises IGDError when the rows it keeps are not the processed root's ``grasps.csv`` (another raw
    root or another seed).
    """
    from igd.data.process import balance_masks

    seed = _processed_config(processed)["seed"]
    grasps = layout.check_grasps(layout.read_grasps(raw), Path(raw) / layout.GRASPS_FILE)
    inside, keep = balance_masks(grasps, np.random.default_rng(seed))
    stored = layout.read_grasps(processed)
    kept = grasps[inside & keep]
    same = len(kept) == len(stored) and all(np.array_equal(kept[c], stored[c]) for c in ("scene_id", "label")) and \
        all(np.allclose(kept[c], stored[c], atol=1e-6) for c in ("x", "y", "z", "width"))
    if not same:
        raise IGDError(f"{Path(processed) / layout.GRASPS_FILE} is not what balancing {Path(raw) / layout.GRASPS_FILE} "
                       f"with seed {seed} keeps: is {raw} the raw root of {processed}?")
    return grasps[inside & ~keep]


def _processed_config(processed) -> dict:
    path = Path(processed) / "process.json"
    try:
        info = json.loads(path.read_text())
        return {"seed": int(info["config"]["seed"]), "summary": info["summary"]}
    except (OSError, KeyError, TypeError, ValueError) as e:
        raise IGDError(f"{path}: not a finished processed root ({type(e).__name__}); run 'igd process' first") from e


# --------------------------------------------------------------------------------------------------
# certain negatives over the volume
# --------------------------------------------------------------------------------------------------
def candidate_voxels(grid: np.ndarray) -> np.ndarray:
    """Centres ``(N, 3)`` metres of the voxels the post-processing may keep in ``grid (1, 40, 40, 40)``."""
    from igd.planners.postprocess import surface_mask, zero_borders

    eligible = zero_borders(surface_mask(grid).astype(np.float64)) > 0
    return ((np.argwhere(eligible) + 0.5) * VOXEL_SIZE).astype(np.float64)


class ObjectProbe:
    """A PyBullet client with static copies of a scene's objects (URDF, scale, pose), for distance
    queries only. ``items``: ``[(urdf, scale, pose (4, 4)), ...]``."""

    def __init__(self):
        import pybullet

        from igd.sim.world import World

        self.world = World()
        self.ball = self.world.p.createCollisionShape(pybullet.GEOM_SPHERE, radius=REACH)
        self.bodies: List[int] = []

    def load(self, items: Sequence[tuple]) -> None:
        from igd.geometry import Transform

        for uid in self.bodies:
            self.world.remove_body(uid)
        self.bodies = []
        for urdf, scale, pose in items:
            T = Transform.from_matrix(np.asarray(pose, np.float64))
            uid = self.world.load_urdf(urdf, T, scale=float(scale), fixed=True)
            self.world.set_pose(uid, T)  # the recorded pose is the body's (as the simulation sets it)
            self.bodies.append(uid)

    def clear(self, points: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: no object within :data:`REACH` of each point ``(N, 3)`` metres."""
        p = self.world.p
        clear = np.ones(len(points), bool)
        for body in self.bodies:
            lo, hi = (np.asarray(v) for v in p.getAABB(body))
            gap = np.linalg.norm(np.maximum(0.0, np.maximum(lo - points, points - hi)), axis=1)
            for i in np.flatnonzero(clear & (gap <= REACH + QUERY_SLACK)):  # the exact query only near the body
                if p.getClosestPoints(-1, body, QUERY_SLACK, collisionShapeA=self.ball,
                                      collisionShapePositionA=points[i].tolist()):
                    clear[i] = False
        return clear

    def close(self) -> None:
        self.world.close()


def certain_negatives(grid: np.ndarray, items: Sequence[tuple], probe: Optional[ObjectProbe] = None
                      ) -> Tuple[np.ndarray, int]:
    """The eligible voxels of ``grid`` with no object within :data:`REACH`: ``((M, 3) float32, candidates)``."""
    own = probe is None
    probe = probe or ObjectProbe()
    try:
        probe.load(items)
        points = candidate_voxels(grid)
        return points[probe.clear(points)].astype(np.float32), len(points)
    finally:
        if own:
            probe.close()


def _scene_items(raw, scene_id: str) -> List[tuple]:
    from igd.eval.evaluate import urdf_of_mesh

    return [(urdf_of_mesh(mesh), scale, pose) for mesh, scale, pose in layout.read_mesh_pose_list(raw, scene_id)]


def add_negatives(raw, processed, progress: bool = True) -> dict:
    """Add ``dropped/grasps.csv``, ``negatives/<id>.npz`` and ``negatives.json`` to a finished processed
    root (module docstring); resumable: scenes whose file exists are kept. Returns the summary."""
    start = time.perf_counter()
    processed = Path(processed)
    dropped = dropped_negatives(raw, processed)
    layout.write_grasps(processed / DROPPED_DIR, (tuple(r) for r in dropped))
    scenes = sorted(set(layout.read_grasps(processed)["scene_id"].astype(str)))
    todo = [s for s in scenes if not negatives_path(processed, s).is_file()]
    from tqdm.auto import tqdm

    probe = ObjectProbe()
    try:
        for scene_id in tqdm(todo, unit="scene", desc="negatives", disable=not progress, file=sys.stderr):
            points, n = certain_negatives(layout.read_grid(processed, scene_id), _scene_items(raw, scene_id), probe)
            layout.atomic_savez(negatives_path(processed, scene_id), points=points, candidates=np.int64(n))
    finally:
        probe.close()
    counts = [(len(read_negatives(processed, s)),
               int(layout.load_npz(negatives_path(processed, s), NEGATIVE_KEYS)["candidates"])) for s in scenes]
    found, candidates = (np.array(c) for c in zip(*counts))
    summary = {"reach": REACH, "scenes": len(scenes), "dropped_negatives": int(len(dropped)),
               "certain_negatives": int(found.sum()), "candidate_voxels": int(candidates.sum()),
               "certain_share": float(found.sum() / max(1, candidates.sum())),
               "scenes_without_certain": int((found == 0).sum()), "seconds": round(time.perf_counter() - start, 2)}
    layout.atomic_write_bytes(processed / NEGATIVES_INFO, json.dumps(summary, indent=1).encode())
    return summary


def format_summary(summary: Dict[str, object]) -> str:
    return (f"negatives: {summary['dropped_negatives']} labelled negatives dropped by balancing "
            f"({DROPPED_DIR}/{layout.GRASPS_FILE}); {summary['certain_negatives']} certain negatives of {summary['candidate_voxels']} "
            f"eligible voxels ({summary['certain_share']:.1%}; reach {summary['reach'] * 1000:.1f} mm) in "
            f"{summary['scenes']} scenes, {summary['scenes_without_certain']} with none; {summary['seconds']} s")
