"""Fixtures of the viewer tests: a synthetic scene grid and tiny random-weights planners (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from igd.constants import RESOLUTION, TABLE_HEIGHT, TRUNCATION, VOXEL_SIZE

#: A fast IGD / GIGA network (random weights): the viewer only needs the shapes to be right.
SMALL_IGD = {"features": 8, "hidden": 16, "unet_filters": 8, "denoiser_hidden": 32, "max_points": 200}
SMALL_GIGA = {"features": 8, "hidden": 16, "unet_filters": 8}


def box_grid() -> np.ndarray:
    """A fully observed 5 x 4 x 6 cm box on the table, encoded (docs/perception.md#tsdf): ``(1, 40, 40, 40)``."""
    idx = np.stack(np.meshgrid(*[np.arange(RESOLUTION)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    centres = (idx + 0.5) * VOXEL_SIZE
    q = np.abs(centres - np.array([0.15, 0.15, 0.08])) - np.array([0.025, 0.02, 0.03])
    box = np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)
    tsdf = np.clip(np.minimum(box, centres[:, 2] - TABLE_HEIGHT) / TRUNCATION, -1.0, 1.0)
    grid = np.where((tsdf >= -0.98) & (tsdf < 0.98), (tsdf + 1.0) / 2.0, 0.0).astype(np.float32)
    return grid.reshape((1,) + (RESOLUTION,) * 3)


@pytest.fixture(scope="session")
def grid() -> np.ndarray:
    """:func:`box_grid`, read-only."""
    g = box_grid()
    g.setflags(write=False)
    return g


@pytest.fixture(scope="session")
def igd_planner():
    """A tiny IGD planner with random weights (seeded)."""
    import torch

    from igd.planners.igd import IGDConfig, IGDPlanner

    torch.manual_seed(0)
    return IGDPlanner(IGDConfig(**SMALL_IGD))


def example_grasps():
    """Three hand-made grasps around the box of :func:`box_grid`: from above, from the side, tilted."""
    from scipy.spatial.transform import Rotation

    from igd.planners.base import Grasps

    poses = np.tile(np.eye(4), (3, 1, 1))
    poses[0, :3, :3] = Rotation.from_euler("x", 180, degrees=True).as_matrix()  # approach straight down
    poses[1, :3, :3] = Rotation.from_euler("y", 90, degrees=True).as_matrix()  # approach along +x
    poses[2, :3, :3] = Rotation.from_euler("xy", [150, 30], degrees=True).as_matrix()
    poses[:, :3, 3] = [[0.15, 0.15, 0.14], [0.11, 0.15, 0.09], [0.15, 0.14, 0.13]]
    return Grasps(poses, [0.045, 0.04, 0.05], [0.9, 0.6, 0.3])


def box_object():
    """The box of :func:`box_grid` as a true object ``(name, vertices (8, 3), faces (12, 3))``."""
    import trimesh

    box = trimesh.creation.box(extents=(0.05, 0.04, 0.06))
    return "box", np.asarray(box.vertices) + [0.15, 0.15, 0.08], np.asarray(box.faces)


@pytest.fixture(scope="session")
def igd_view(tmp_path_factory, igd_planner, grid):
    """``(layers, html path)``: the viewer page of the tiny IGD planner on the box, with 6 paths, a cloud
    (the box's top face) and the box as the true object."""
    from igd.planners.base import Observation
    from igd.viz import write_view

    path = tmp_path_factory.mktemp("view") / "view.html"
    top = np.stack(np.meshgrid(np.linspace(0.125, 0.175, 20), np.linspace(0.13, 0.17, 16), [0.11]), -1).reshape(-1, 3)
    layers = write_view(igd_planner, Observation(np.array(grid), cloud=top), example_grasps(), path, samples=6,
                        seed=0, heat_threshold=0.2, title="igd · box · seed 0", meta={"scene": "box", "seed": 0},
                        objects=[box_object()])
    return layers, path
