"""``IGDPlanner.sample_trajectories``: the recorded reverse diffusion the viewer draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igd.errors import IGDError
from igd.nn import normalise, sample_planes

POINT = (0.15, 0.15, 0.12)


def test_shapes_and_unit_quaternions(igd_planner, grid):
    traj = igd_planner.sample_trajectories(grid, POINT, n=5, seed=1)
    steps = igd_planner.scheduler.steps
    assert traj.shape == (steps + 1, 5, 4)
    assert traj.dtype == np.float32 and np.all(np.isfinite(traj))
    np.testing.assert_allclose(np.linalg.norm(traj, axis=-1), 1.0, atol=1e-5)


def test_seeds_differ_and_repeat(igd_planner, grid):
    a = igd_planner.sample_trajectories(grid, POINT, n=4, seed=0)
    b = igd_planner.sample_trajectories(grid, POINT, n=4, seed=0)
    c = igd_planner.sample_trajectories(grid, POINT, n=4, seed=1)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a[-1] - c[-1]).max() > 1e-3
    assert np.abs(a[-1, 0] - a[-1, 1]).max() > 1e-3  # the n samples are distinct draws


def test_last_step_is_what_the_sampler_returns(igd_planner, grid):
    """The recorded loop is the sampler's: same noise, same final orientations as ``IGDNet.sample_quat``."""
    n, seed = 3, 7
    traj = igd_planner.sample_trajectories(grid, POINT, n=n, seed=seed)
    net = igd_planner.net
    with torch.inference_mode():
        planes = net.encode(torch.tensor(np.array(grid)))
        p = normalise(torch.tensor(POINT, dtype=torch.float32)).reshape(1, 1, 3)
        cond = net.condition(planes, p, sample_planes(planes, p))[0]
        g = torch.Generator().manual_seed(seed)
        quats = net.sample_quat(p[0].expand(n, 3), cond.expand(n, -1), igd_planner.scheduler, g)
    np.testing.assert_allclose(traj[-1], quats.numpy(), atol=1e-5)


def test_bad_input(igd_planner, grid):
    with pytest.raises(IGDError, match="point"):
        igd_planner.sample_trajectories(grid, (0.1, 0.1), n=2)
    with pytest.raises(IGDError, match="n >= 1"):
        igd_planner.sample_trajectories(grid, POINT, n=0)
