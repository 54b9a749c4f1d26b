"""The viewer's pose-path layer: the whole-pose chains of a planner with ``pose_trajectories`` (SE(3)-DiF's Langevin
chains, dGrasp's gradient-ascent paths)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import example_grasps

from igd.errors import IGDError
from igd.planners.base import Observation
from igd.viz.html import page_data, render_html
from igd.viz.scene import compute_layers, drawables, pose_path_segments


@pytest.fixture(scope="module")
def se3dif():
    from tiny_planners import tiny_planner

    return tiny_planner("se3dif")


def test_pose_paths_layer(se3dif, grid):
    obs = Observation(np.array(grid))
    layers = compute_layers(se3dif, obs, se3dif.plan(obs), top=2, samples=3, seed=2)
    steps = se3dif.schedule.steps
    assert layers.pose_paths.shape == (steps + 1, 3, 4, 4) and layers.traj_quats is None
    np.testing.assert_array_equal(layers.pose_paths, se3dif.pose_trajectories(obs.grid, n=3, seed=2))
    assert not any("diffusion" in n for n in layers.notes), "the pose paths stand in for the denoising paths"
    d = drawables(layers)["pose_paths"]
    assert d["segments"].shape == (3 * (steps + 5), 2, 3) and d["colours"].shape == (3 * (steps + 5), 3)
    np.testing.assert_allclose(d["segments"][0, 0], layers.pose_paths[0, 0, :3, 3])  # the track starts at the seed
    np.testing.assert_allclose(d["segments"][steps - 1, 1], layers.pose_paths[-1, 0, :3, 3])
    data = page_data(layers)["posepaths"]
    assert len(data["samples"]) == 3 and data["steps"] == steps and len(data["s"]) == 6 * len(d["segments"])
    assert "posepaths-box" in render_html(layers)


@pytest.mark.parametrize("ascent", ["sequential", "synchronous"])
def test_dgrasp_ascent_paths_layer(grid, ascent):
    """dGrasp's viewer draws the ascent of several initial poses: one track per pose, from its start to its end."""
    from tiny_planners import tiny_planner

    dgrasp = tiny_planner("dgrasp", ascent=ascent, position_steps=3, rotation_steps=2)
    obs = Observation(np.array(grid))
    layers = compute_layers(dgrasp, obs, dgrasp.plan(obs), top=2, samples=4, seed=3)
    steps = 5 if ascent == "sequential" else 3
    assert layers.pose_paths.shape == (steps + 1, 4, 4, 4) and layers.traj_quats is None
    np.testing.assert_array_equal(layers.pose_paths, dgrasp.pose_trajectories(obs.grid, n=4, seed=3))
    moved = np.linalg.norm(layers.pose_paths[-1, :, :3, 3] - layers.pose_paths[0, :, :3, 3], axis=-1)
    assert (moved > 0).all(), "every initial pose climbs Ψ"
    d = drawables(layers)["pose_paths"]
    assert len(d["segments"]) == 4 * (steps + 5)
    np.testing.assert_allclose(d["segments"][0, 0], layers.pose_paths[0, 0, :3, 3])
    assert len(page_data(layers)["posepaths"]["samples"]) == 4 and "posepaths-box" in render_html(layers)


def test_igd_view_has_no_pose_paths(igd_planner, grid):
    obs = Observation(np.array(grid))
    layers = compute_layers(igd_planner, obs, example_grasps(), samples=2)
    assert layers.pose_paths is None and layers.traj_quats is not None
    assert len(drawables(layers)["pose_paths"]["segments"]) == 0
    assert page_data(layers)["posepaths"]["samples"] == []


def test_pose_path_segments_of_a_single_step():
    paths = np.tile(np.eye(4), (1, 2, 1, 1))
    segments, colours = pose_path_segments(paths)
    assert segments.shape == (10, 2, 3) and colours.shape == (10, 3)  # per sample: a stem and a gripper


def test_a_bad_shape_is_one_line(se3dif, grid, monkeypatch):
    monkeypatch.setattr(se3dif, "pose_trajectories", lambda g, n, seed: np.zeros((4, n, 3, 3)))
    obs = Observation(np.array(grid))
    with pytest.raises(IGDError, match="pose_trajectories returned shape"):
        compute_layers(se3dif, obs, example_grasps(), samples=2)
