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
                            ``candidates ()`` int: the voxels that were eligible;
                            ``probe_points (P, 3)``: eligible voxels within reach where the six
                            generation yaws all fail the probe's checks, of ``probe_tried ()``
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

**Probe negatives** (optional, ``probe`` voxels per scene drawn from the eligible ones within reach):
the six yaws of the generation (:func:`igd.data.sampling.grasp_frame` of the nearest surface's
free-space normal, an object's or the table's) each fail the fast labeller's geometric checks (the
hand penetrates a body on the approach, or nothing is in the closing region): what the data
generation would label 0 without running physics (the checks agree with the simulated trials on
99.9 % of yaws, docs/data.md). They are certain for the generation's label (six yaws), not for
every orientation.
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
           "candidate_voxels", "certain_negatives", "dropped_negatives", "negatives_path", "probe_negatives",
           "read_negatives"]

DROPPED_DIR = "dropped"  # dropped/grasps.csv: the grasps.csv layout, read by igd.data.layout.read_grasps
NEGATIVES_DIR = "negatives"
NEGATIVES_INFO = "negatives.json"
NEGATIVE_KEYS = ("points", "candidates")
PROBE_KEYS = ("probe_points", "probe_tried")
_PROBE_STREAM = 2  # scene_rng stream of the voxels tried by the probe (0, 1: noise, occupancy)
SAFETY = 0.005  # m added to the closing region's reach
#: PyBullet's sphere-to-shape distances can be short by a fraction of a millimetre (0.25 mm seen
#: against a box): anything this much beyond the ball still counts as within reach.
QUERY_SLACK = 0.001


def _closing_reach() -> float:
    from igd.sim.probe import CLOSING_BOX_CENTRE, CLOSING_BOX_HALF, EMPTY_MARGIN

    corner = np.abs(CLOSING_BOX_CENTRE) + np.asarray(CLOSING_BOX_HALF) + EMPTY_MARGIN
    return float(np.linalg.norm(corner))


#: Metres: no object within this distance of a grasp centre → the fingers close on nothing, for any
#: orientation (the farthest point of the grown closing box from the TCP, 71.6 mm, + 5 mm).
REACH = _closing_reach() + SAFETY


def negatives_path(root, scene_id: str) -> Path:
    return Path(root) / NEGATIVES_DIR / f"{scene_id}.npz"


def read_negatives(root, scene_id: str, probe: bool = False) -> np.ndarray:
    """The certain negatives of a scene, ``(M, 3)`` float32 metres; ``probe=True``: those of the six-yaw
    probe check (:func:`probe_negatives`) appended. IGDError naming the file if missing or bad."""
    path = negatives_path(root, scene_id)
    if not path.is_file():
        raise IGDError(f"{path}: missing; add certain negatives to the processed root with "
                       f"'igd process RAW {root} --add-negatives'")
    stored = layout.load_npz(path, NEGATIVE_KEYS + (PROBE_KEYS if probe else ()))
    points = np.concatenate([stored["points"], stored["probe_points"]]) if probe else stored["points"]
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
        from igd.sim.bullet import pybullet
        from igd.sim.world import World

        self.world = World()
        self.ball = self.world.p.createCollisionShape(pybullet.GEOM_SPHERE, radius=REACH)
        self.bodies: List[int] = []

    def load(self, items: Sequence[tuple]) -> None:
        self.bodies = _load_static(self.world, self.bodies, items)

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


def _load_static(world, old: Sequence[int], items: Sequence[tuple]) -> List[int]:
    """Remove the bodies ``old`` from ``world`` and load each object ``(urdf, scale, pose (4, 4))`` of
    ``items`` as a static body at its recorded pose (the body's, as the simulation sets it); their ids."""
    from igd.geometry import Transform

    for uid in old:
        world.remove_body(uid)
    bodies = []
    for urdf, scale, pose in items:
        T = Transform.from_matrix(np.asarray(pose, np.float64))
        uid = world.load_urdf(urdf, T, scale=float(scale), fixed=True)
        world.set_pose(uid, T)
        bodies.append(uid)
    return bodies


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


def _fill_probe(probe, items: Sequence[tuple]) -> None:
    """The fast labeller's :class:`~igd.sim.probe.ProbeWorld` holding the scene: the objects (static,
    from URDF, scale and pose) and the table slab the simulation builds."""
    from igd.constants import TABLE_HEIGHT

    probe.bodies = _load_static(probe.world, probe.bodies, items)
    probe.bodies.append(probe.world.add_box([0.5, 0.5, 0.025], [0.15, 0.15, TABLE_HEIGHT - 0.025], "table",
                                            visual=False))


def _surface_normal(probe, point: np.ndarray, dot: int) -> np.ndarray:
    """The free-space normal of the surface nearest ``point``: an object's (from its nearest point) or the table's."""
    from igd.constants import TABLE_HEIGHT

    best, normal = point[2] - TABLE_HEIGHT, np.array([0.0, 0.0, 1.0])
    for body in probe.bodies[:-1]:  # the objects; the last body is the table
        for c in probe.world.p.getClosestPoints(-1, body, 0.3, collisionShapeA=dot,
                                                collisionShapePositionA=point.tolist()):
            if c[8] < best:
                best, normal = c[8], np.asarray(c[7], np.float64)
    return normal / max(np.linalg.norm(normal), 1e-12)


def probe_negatives(points: np.ndarray, items: Sequence[tuple], rng: np.random.Generator, count: int) -> np.ndarray:
    """Of ``count`` of ``points (N, 3)`` drawn at random (all of them if fewer), those where all six
    generation yaws (frame from the nearest surface's normal, :func:`igd.data.sampling.grasp_frame`)
    fail the fast labeller's geometric checks (approach collision or empty closing region): the
    points the data would label 0 with no physics run. ``(M, 3)`` float32."""
    from igd.data.sampling import FastLabeller, grasp_frame, yaw_poses
    from igd.sim.bullet import pybullet
    from igd.sim.probe import probe_world

    if count <= 0 or len(points) == 0:
        return np.zeros((0, 3), np.float32)
    probe = probe_world()
    _fill_probe(probe, items)
    dot = probe.world.p.createCollisionShape(pybullet.GEOM_SPHERE, radius=1e-4)
    labeller = FastLabeller()
    labeller.probe = probe  # only its geometric checks are used: nothing is simulated
    pick = rng.choice(len(points), min(count, len(points)), replace=False)
    out = []
    for point in points[np.sort(pick)]:
        frame = grasp_frame(_surface_normal(probe, point, dot))
        if all(labeller._precheck(pose) is not None for pose in yaw_poses(point, frame)):
            out.append(point)
    return np.asarray(out, np.float32).reshape(-1, 3)


def _scene_items(raw, scene_id: str) -> List[tuple]:
    from igd.eval.evaluate import urdf_of_mesh

    return [(urdf_of_mesh(mesh), scale, pose) for mesh, scale, pose in layout.read_mesh_pose_list(raw, scene_id)]


def _check_probe_setting(processed: Path, probe: int) -> None:
    path = processed / NEGATIVES_INFO
    if not path.is_file() or not (processed / NEGATIVES_DIR).is_dir():
        return
    try:
        stored = int(json.loads(path.read_text()).get("probe", 0))
    except (OSError, ValueError, TypeError) as e:
        raise IGDError(f"{path}: unreadable ({type(e).__name__}); remove it and {processed / NEGATIVES_DIR}") from e
    if stored != probe:
        raise IGDError(f"{processed / NEGATIVES_DIR} was made with --probe-negatives {stored}, not {probe}: "
                       "use that, or remove the folder to make it again")


def add_negatives(raw, processed, progress: bool = True, probe: int = 0) -> dict:
    """Add ``dropped/grasps.csv``, ``negatives/<id>.npz`` and ``negatives.json`` to a finished processed
    root (module docstring); resumable: scenes whose file exists are kept. ``probe``: voxels per scene
    tried by :func:`probe_negatives` (0: none). Returns the summary."""
    from igd.data.process import scene_rng

    start = time.perf_counter()
    processed = Path(processed)
    if isinstance(probe, bool) or not isinstance(probe, int) or probe < 0:
        raise IGDError(f"--probe-negatives must be an int >= 0 (voxels per scene), got {probe!r}")
    dropped = dropped_negatives(raw, processed)
    seed = _processed_config(processed)["seed"]
    _check_probe_setting(processed, probe)
    layout.write_grasps(processed / DROPPED_DIR, (tuple(r) for r in dropped))
    scenes = sorted(set(layout.read_grasps(processed)["scene_id"].astype(str)))
    todo = [s for s in scenes if not negatives_path(processed, s).is_file()]
    from tqdm.auto import tqdm

    objects = ObjectProbe()
    try:
        for scene_id in tqdm(todo, unit="scene", desc="negatives", disable=not progress, file=sys.stderr):
            grid, items = layout.read_grid(processed, scene_id), _scene_items(raw, scene_id)
            objects.load(items)
            candidates = candidate_voxels(grid)
            clear = objects.clear(candidates)
            near = probe_negatives(candidates[~clear], items, scene_rng(seed, scene_id, _PROBE_STREAM), probe)
            layout.atomic_savez(negatives_path(processed, scene_id), points=candidates[clear].astype(np.float32),
                                candidates=np.int64(len(candidates)), probe_points=near, probe_tried=np.int64(
                                    min(probe, int((~clear).sum()))))
    finally:
        objects.close()
    counts = []
    for s in scenes:
        stored = layout.load_npz(negatives_path(processed, s), NEGATIVE_KEYS + PROBE_KEYS)
        counts.append((len(stored["points"]), int(stored["candidates"]), len(stored["probe_points"]),
                       int(stored["probe_tried"])))
    found, candidates, near, tried = (np.array(c) for c in zip(*counts))
    summary = {"reach": REACH, "probe": probe, "scenes": len(scenes), "dropped_negatives": int(len(dropped)),
               "certain_negatives": int(found.sum()), "candidate_voxels": int(candidates.sum()),
               "certain_share": float(found.sum() / max(1, candidates.sum())),
               "probe_negatives": int(near.sum()), "probe_tried": int(tried.sum()),
               "scenes_without_certain": int((found == 0).sum()), "seconds": round(time.perf_counter() - start, 2)}
    layout.atomic_write_bytes(processed / NEGATIVES_INFO, json.dumps(summary, indent=1).encode())
    return summary


def format_summary(summary: Dict[str, object]) -> str:
    return (f"negatives: {summary['dropped_negatives']} labelled negatives dropped by balancing "
            f"({DROPPED_DIR}/{layout.GRASPS_FILE}); {summary['certain_negatives']} certain negatives of {summary['candidate_voxels']} "
            f"eligible voxels ({summary['certain_share']:.1%}; reach {summary['reach'] * 1000:.1f} mm) in "
            f"{summary['scenes']} scenes, {summary['scenes_without_certain']} with none; {summary['probe_negatives']} "
            f"of {summary['probe_tried']} voxels within reach fail all six yaws of the probe; {summary['seconds']} s")
