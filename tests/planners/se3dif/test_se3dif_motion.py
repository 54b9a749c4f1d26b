"""``se3dif.motion``: grasp-and-motion optimisation on toy scenes whose optimum is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from planner_scenes import make_box_grid
from scipy.spatial.transform import Rotation

from igd.errors import IGDError
from igd.lie import lie_gaussian_log_prob
from igd.planners.se3dif.motion import MotionConfig, optimise_grasp_and_motion


def _pose(rotvec, t) -> np.ndarray:
    h = np.eye(4)
    h[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    h[:3, 3] = t
    return h


#: The best grasp of the toy energy: from above, at (0.15, 0.15, 0.2).
BEST = _pose([np.pi, 0, 0], [0.15, 0.15, 0.2])


def _energy(best: np.ndarray, s: float = 0.02):
    """A quadratic bowl around ``best``: −log N_G(H; best, s²) (metres and radians)."""
    mean = torch.tensor(best, dtype=torch.float32)
    return lambda h: -lie_gaussian_log_prob(h, mean.expand_as(h), s)


def test_free_space_grasp_reaches_the_optimum_on_a_straight_even_path():
    start = _pose([np.pi, 0, 0.6], [0.15, 0.05, 0.29])
    grasp0 = _pose([np.pi, 0.15, -0.1], [0.17, 0.14, 0.19])  # 2.4 cm, ~10° off the optimum
    config = MotionConfig(waypoints=6, iterations=300, collision_weight=0.0)
    result = optimise_grasp_and_motion(_energy(BEST), None, grasp0, start, config)
    assert np.linalg.norm(result.grasp[:3, 3] - BEST[:3, 3]) < 3e-3
    angle = Rotation.from_matrix(result.grasp[:3, :3].T @ BEST[:3, :3]).magnitude()
    assert angle < np.radians(2)
    np.testing.assert_allclose(result.waypoints[0], start, atol=1e-6)  # the start stays put
    np.testing.assert_allclose(result.waypoints[-1], result.grasp)
    line = np.linspace(start[:3, 3], result.grasp[:3, 3], 6)  # smoothness: evenly spaced on the segment
    np.testing.assert_allclose(result.waypoints[:, :3, 3], line, atol=3e-3)
    assert result.costs["total"] < result.costs["total_initial"]


def test_the_path_leaves_an_obstacle():
    """A tall box stands across the straight path: the optimised path collides far less than the initial one."""
    grid = make_box_grid(center=(0.15, 0.15, 0.12), half_extents=(0.02, 0.05, 0.07))
    start = _pose([np.pi, 0, 0], [0.07, 0.15, 0.2])
    best = _pose([np.pi, 0, 0], [0.23, 0.15, 0.2])
    config = MotionConfig(waypoints=8, iterations=200)
    result = optimise_grasp_and_motion(_energy(best), grid, best, start, config)
    assert result.costs["collision_initial"] > 0.1
    assert result.costs["collision"] < 0.2 * result.costs["collision_initial"]
    assert np.linalg.norm(result.grasp[:3, 3] - best[:3, 3]) < 0.02


def test_bad_input():
    with pytest.raises(IGDError, match="grasp must be a finite"):
        optimise_grasp_and_motion(_energy(BEST), None, np.eye(3), BEST)
    with pytest.raises(IGDError, match="waypoints"):
        MotionConfig(waypoints=1)
