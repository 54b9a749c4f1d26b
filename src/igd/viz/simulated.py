"""A simulated scene seen as the benchmark sees it, for the viewer (``igd view``) and the demo."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from igd.errors import IGDError

__all__ = ["SceneObject", "SimulatedView", "decimate", "observe_scene", "scene_objects"]

#: The true meshes are decimated to at most this many triangles each (the page stays small).
MAX_OBJECT_FACES = 2500


class SceneObject(NamedTuple):
    """One object of a simulated scene as it is there: its mesh at its pose, in the workspace frame."""

    name: str  # the asset, e.g. "ycb/073-b_lego_duplo"
    vertices: np.ndarray  # (V, 3) float32, metres
    faces: np.ndarray  # (F, 3) int32


class SimulatedView(NamedTuple):
    """What :func:`observe_scene` returns."""

    observation: object  # igd.planners.base.Observation of the side view
    object_count: int
    planner_seed: int  # the seed the benchmark would give the planner in this round
    objects: tuple = ()  # SceneObject per object: what was there (the viewer's "true objects" layer)


def decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int = MAX_OBJECT_FACES) -> tuple:
    """``(vertices (V', 3) float32, faces (F', 3) int32)`` with ``F' <= max_faces``: vertex clustering on a
    grid (each cell's vertices merge into their mean; collapsed and repeated faces go), the cell
    growing from 1/64 of the mesh's extent until the faces fit. Orientation is kept. A mesh that fits
    is returned as it is."""
    vertices, faces = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if len(faces) <= max_faces:
        return vertices.astype(np.float32), faces.astype(np.int32)
    lo, cell = vertices.min(axis=0), max(float(np.ptp(vertices, axis=0).max()), 1e-9) / 64
    while True:
        _, cluster, counts = np.unique(np.floor((vertices - lo) / cell).astype(np.int64), axis=0,
                                       return_inverse=True, return_counts=True)
        f = cluster.reshape(-1)[faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
        f = f[np.sort(first)]
        if len(f) <= max_faces:
            break
        cell *= 1.25
    centres = np.zeros((len(counts), 3))
    np.add.at(centres, cluster.reshape(-1), vertices)
    used, f = np.unique(f, return_inverse=True)
    return (centres[used] / counts[used, None]).astype(np.float32), f.reshape(-1, 3).astype(np.int32)


def scene_objects(sim, max_faces: int = MAX_OBJECT_FACES) -> tuple:
    """The objects of ``sim`` (a :class:`~igd.sim.simulation.ClutterRemovalSim`) as they are now: each
    asset's visual mesh scaled and posed as :meth:`~igd.sim.simulation.ClutterRemovalSim.mesh_pose_list`
    records it, decimated to ``max_faces``. A tuple of :class:`SceneObject`."""
    from igd.data.occupancy import load_mesh

    objects = []
    for asset, scale, pose in sim.mesh_pose_list():
        vertices, faces = load_mesh(str(asset.mesh))
        world = np.asarray(vertices) * scale @ pose[:3, :3].T + pose[:3, 3]
        objects.append(SceneObject(asset.name, *decimate(world, faces, max_faces)))
    return tuple(objects)


def observe_scene(scene: str = "packed", seed: int = 0, objects: int = 5, noise: str = "dex",
                  object_set: str = "test", views: str = "side") -> SimulatedView:
    """Build round 0 of benchmark seed ``seed`` (the same scene and depth noise as ``igd bench --seeds
    seed``'s first round, docs/benchmark.md), render ``views`` and build the observation on the
    benchmark's path (:func:`igd.perception.observe.observe_depth`), and keep the objects' true meshes
    (:func:`scene_objects`).

    ``object_set``: ``test`` / ``train`` (joined to the scene: ``packed/test``) or a set name.
    Raises :class:`IGDError` when nothing is left to see in the workspace.
    """
    from igd.bench.clutter_removal import round_seeds
    from igd.perception.camera import DEFAULT_INTRINSIC
    from igd.perception.camera import views as camera_views
    from igd.perception.observe import observe_depth
    from igd.sim.simulation import ClutterRemovalSim

    if isinstance(objects, bool) or not isinstance(objects, int) or objects < 1:
        raise IGDError(f"objects: expected a positive number of objects, got {objects!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise IGDError(f"seed: expected an integer >= 0, got {seed!r}")
    full_set = object_set if ("/" in object_set or object_set == "blocks") else f"{scene}/{object_set}"
    seeds = round_seeds(seed, 0)
    extrinsics = camera_views(views)
    sim = ClutterRemovalSim(scene, full_set, gui=False)
    try:
        sim.reset(objects, seed=seeds.scene)
        count = int(sim.num_objects)
        objects = scene_objects(sim)
        depths = [sim.render(extrinsic, DEFAULT_INTRINSIC) for extrinsic in extrinsics]
    finally:
        sim.close()
    observation = observe_depth(depths, DEFAULT_INTRINSIC, extrinsics, noise=noise,
                                rng=np.random.default_rng(seeds.noise), check=False)
    if len(observation.cloud) == 0:
        raise IGDError(f"scene '{scene}' seed {seed}: nothing to see in the workspace")
    return SimulatedView(observation, count, seeds.planner, objects)
