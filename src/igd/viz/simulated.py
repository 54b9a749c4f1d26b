"""A simulated scene seen as the benchmark sees it, for the viewer (``igd view``) and the demo."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from igd.errors import IGDError

__all__ = ["SimulatedView", "observe_scene"]


class SimulatedView(NamedTuple):
    """What :func:`observe_scene` returns."""

    observation: object  # igd.planners.base.Observation of the side view
    object_count: int
    planner_seed: int  # the seed the benchmark would give the planner in this round


def observe_scene(scene: str = "packed", seed: int = 0, objects: int = 5, noise: str = "dex",
                  object_set: str = "test", views: str = "side") -> SimulatedView:
    """Build round 0 of benchmark seed ``seed`` (the same scene and depth noise as ``igd bench --seeds
    seed``'s first round, docs/benchmark.md), render ``views`` and build the observation on the
    benchmark's path (:func:`igd.perception.observe.observe_depth`).

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
        depths = [sim.render(extrinsic, DEFAULT_INTRINSIC) for extrinsic in extrinsics]
    finally:
        sim.close()
    observation = observe_depth(depths, DEFAULT_INTRINSIC, extrinsics, noise=noise,
                                rng=np.random.default_rng(seeds.noise), check=False)
    if len(observation.cloud) == 0:
        raise IGDError(f"scene '{scene}' seed {seed}: nothing to see in the workspace")
    return SimulatedView(observation, count, seeds.planner)
