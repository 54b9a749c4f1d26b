"""The viewer's layers (:mod:`igd.viz.scene`): surface, heat, gripper geometry, denoising paths."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import example_grasps

from igd.constants import FINGER_DEPTH, TABLE_HEIGHT
from igd.errors import IGDError
from igd.planners.base import Observation
from igd.viz.scene import (
    colormap,
    compute_layers,
    drawables,
    gripper_segments,
    surface_mesh,
    trajectory_paths,
)


def test_surface_mesh_of_the_box(grid):
    verts, faces = surface_mesh(grid)
    assert verts.dtype == np.float32 and faces.dtype == np.int32
    assert len(faces) > 100 and faces.max() < len(verts)
    above = verts[verts[:, 2] > TABLE_HEIGHT + 0.01]  # the box's sides and top
    assert np.all(np.abs(above[:, :2] - 0.15) < 0.04)
    assert abs(verts[:, 2].max() - 0.11) < 0.01  # the box's top at z = 0.11
    assert verts[:, 2].min() > TABLE_HEIGHT - 0.015  # no underside of the table's band


def test_surface_mesh_of_nothing():
    verts, faces = surface_mesh(np.zeros((1, 40, 40, 40), np.float32))
    assert verts.shape == (0, 3) and faces.shape == (0, 3)


def test_gripper_segments_follow_the_tcp_frame():
    pose = np.eye(4)
    pose[:3, 3] = [0.1, 0.2, 0.3]
    segs = gripper_segments(pose, 0.06)
    assert segs.shape == (4, 2, 3)
    tips = segs[1:3, 1] - pose[:3, 3]  # fingertips: ±w/2 along y, FINGER_DEPTH ahead along z
    np.testing.assert_allclose(tips, [[0, -0.03, FINGER_DEPTH], [0, 0.03, FINGER_DEPTH]], atol=1e-12)
    assert segs[3, 0, 2] < pose[2, 3]  # the stem is behind the palm


def test_paths_lie_on_the_sphere():
    rng = np.random.default_rng(0)
    quats = rng.normal(size=(5, 3, 4))
    quats /= np.linalg.norm(quats, axis=-1, keepdims=True)
    point = np.array([0.1, 0.1, 0.1])
    paths = trajectory_paths(point, quats, radius=0.05)
    assert paths.shape == (3, 5, 3)
    np.testing.assert_allclose(np.linalg.norm(paths - point, axis=-1), 0.05, atol=1e-9)


def test_colormap_ends():
    c = colormap(np.array([-1.0, 0.0, 1.0, 2.0]))
    assert c.shape == (4, 3) and np.all((c >= 0) & (c <= 1))
    np.testing.assert_allclose(c[0], c[1]) and np.testing.assert_allclose(c[2], c[3])


def test_igd_layers(igd_view):
    layers, _ = igd_view
    assert len(layers.grasp_scores) == 3 and layers.heat_label == "affordance a"
    assert len(layers.heat_values) > 0 and layers.heat_values.min() > 0.2
    assert layers.traj_quats.shape[1] == 6
    np.testing.assert_allclose(layers.traj_point, example_grasps().poses[0][:3, 3])  # the best grasp
    d = drawables(layers)
    assert d["grasps"]["segments"].shape == (12, 2, 3) and d["grasps"]["colours"].shape == (12, 3)
    assert len(d["paths"]["segments"]) == len(d["paths"]["colours"]) > 6 * layers.traj_quats.shape[0]


def test_giga_heat_is_its_quality(grid):
    """A planner whose ``predict`` returns ``(qual, rot, width)`` (GIGA, VGN): quality heat, no paths."""
    import torch
    from conftest import SMALL_GIGA

    from igd.planners.giga import GIGAConfig, GIGAPlanner

    torch.manual_seed(0)
    planner = GIGAPlanner(GIGAConfig(**SMALL_GIGA))
    layers = compute_layers(planner, Observation(np.array(grid)), example_grasps(), top=1, heat_threshold=0.0)
    assert layers.heat_label == "quality q" and len(layers.heat_values) > 0
    assert layers.traj_quats is None and len(layers.grasp_scores) == 1


def test_planner_without_heat_or_sampler(grid):
    """A planner without the capabilities the heat and the paths need (topdown: no ``affordance``, no
    ``volumes``, no ``sample_trajectories``) still gets a view, with a note for each layer it lacks."""
    from igd.planners.base import load_planner

    planner = load_planner("topdown")
    assert not any(planner.supports(c) for c in ("affordance", "volumes", "sample_trajectories"))
    obs = Observation(np.array(grid))
    layers = compute_layers(planner, obs, planner.plan(obs), top=2)
    assert len(layers.mesh_faces) > 0 and layers.traj_quats is None
    assert layers.heat_label == "none" and len(layers.heat_values) == 0
    assert any("diffusion" in n for n in layers.notes)
    assert "planner 'topdown' has neither an affordance nor a quality volume: no heat layer" in layers.notes


def test_bad_arguments(igd_planner, grid):
    obs = Observation(np.array(grid))
    with pytest.raises(IGDError, match="workspace"):
        compute_layers(igd_planner, obs, example_grasps(), point=(0.1, 0.1, 0.5), samples=2)
    with pytest.raises(IGDError, match="threshold"):
        compute_layers(igd_planner, obs, example_grasps(), heat_threshold=2.0)
