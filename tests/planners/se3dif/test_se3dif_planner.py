"""The se3dif planner beyond the contract: seeds, chains, filtering, ranking, refinement, config errors."""

from __future__ import annotations

import numpy as np
import pytest
from planner_scenes import make_box_grid
from tiny_planners import tiny_planner

from igd.constants import FINGER_DEPTH, MAX_OPENING, TCP_FROM_LINK, VOXEL_SIZE
from igd.errors import IGDError
from igd.planners.base import Observation, build_config
from igd.planners.common.gripper_points import GRIPPER_BOX, gripper_points
from igd.planners.postprocess import surface_mask
from igd.planners.se3dif import SE3DiFConfig
from igd.planners.se3dif.planner import keep_in_workspace

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def planner():
    return tiny_planner("se3dif")


@pytest.fixture(scope="module")
def grid():
    return make_box_grid()


def test_seeds_lie_near_the_observed_surface(planner, grid):
    import torch

    h0 = planner.seeds(grid, 200, torch.Generator().manual_seed(0)).numpy()
    surface = np.argwhere(surface_mask(grid)) * VOXEL_SIZE
    d = np.linalg.norm(h0[:, None, :3, 3] - surface[None], axis=-1).min(1)
    assert np.all(d < 5 * planner.config.seed_noise)
    assert np.median(d) < 2 * planner.config.seed_noise
    assert planner.seeds(np.zeros_like(grid), 4, torch.Generator()) is None


def test_pose_trajectories_are_the_chains(planner, grid):
    paths = planner.pose_trajectories(grid, n=4, seed=3)
    assert paths.shape == (planner.schedule.steps + 1, 4, 4, 4) and paths.dtype == np.float64
    moved = np.linalg.norm(paths[-1, :, :3, 3] - paths[0, :, :3, 3], axis=-1)
    assert np.all(moved > 0), "the chains move"
    other = planner.pose_trajectories(grid, n=4, seed=4)
    assert np.abs(other[0] - paths[0]).max() > 1e-3, "another seed, other starts"
    assert planner.pose_trajectories(np.zeros_like(grid), n=2).shape[1] == 2, "nothing seen: starts anywhere"
    with pytest.raises(IGDError, match="n >= 1"):
        planner.pose_trajectories(grid, n=0)


def test_workspace_filter():
    down = np.eye(4)
    down[:3, :3] = np.diag([1.0, -1.0, -1.0])  # approach straight down
    poses = np.stack([down] * 4)
    poses[:, :3, 3] = [[0.15, 0.15, 0.1], [0.15, 0.15, 0.04], [0.005, 0.15, 0.1], [0.15, 0.15, 0.3]]
    up = poses[0].copy()
    up[:3, :3] = np.eye(3)
    up[:3, 3] = [0.15, 0.15, 0.056]  # approach up: the fingertips reach 0.106, fine; but from z 0.056 down:
    poses = np.concatenate([poses, up[None], down[None] @ np.diag([1, 1, 1, 1])])
    poses[-1, :3, 3] = [0.15, 0.15, 0.09]  # pointing down, fingertips at 0.04: under the table top
    np.testing.assert_array_equal(keep_in_workspace(poses), [True, False, False, True, True, False])


@pytest.mark.parametrize("ranking", ["energy", "quality"])
def test_rankings_score_in_unit_interval_best_first(ranking, grid):
    p = tiny_planner("se3dif", ranking=ranking)
    grasps = p.plan(Observation(grid))
    assert len(grasps) > 1
    assert np.all(grasps.scores <= 1) and np.all(grasps.scores >= 0) and np.all(np.diff(grasps.scores) <= 0)
    np.testing.assert_array_equal(grasps.widths, MAX_OPENING)
    if ranking == "energy":
        assert grasps.scores[0] == 1.0 and np.all(np.diff(grasps.info["energies"]) >= 0)


def test_refine_motion_puts_the_optimised_grasp_first(grid):
    plain = tiny_planner("se3dif").plan(Observation(grid))
    refined = tiny_planner("se3dif", refine="motion", motion_iterations=20).plan(Observation(grid))
    assert len(refined) == len(plain) + 1
    np.testing.assert_array_equal(refined.poses[1:], plain.poses)
    waypoints = np.asarray(refined.info["motion_waypoints"])
    assert waypoints.shape == (8, 4, 4)
    np.testing.assert_allclose(waypoints[-1], refined.poses[0], atol=1e-9)
    assert refined.info["motion_costs"]["total"] <= refined.info["motion_costs"]["total_initial"]


def test_config_errors_are_one_line():
    for values, match in (({"ranking": "best"}, "ranking must be one of"), ({"samples": 0}, "samples"),
                          ({"nope": 1}, "unknown field"), ({"time_dim": 7}, "time_dim"),
                          ({"loss": "l2"}, "loss must be one of")):
        with pytest.raises(IGDError, match=match) as e:
            build_config(SE3DiFConfig, values)
        assert "\n" not in str(e.value)


def test_gripper_box_encloses_the_hand_that_closes():
    """The box of the energy's points (TCP frame) holds the open fingers from palm to tips and the palm,
    as the reference's box does on the same Panda hand (our link frame = its hand frame, TCP 0.062 ahead)."""
    (xlo, xhi), (ylo, yhi), (zlo, zhi) = GRIPPER_BOX
    assert ylo < -MAX_OPENING / 2 - 0.02 and yhi > MAX_OPENING / 2 + 0.02, "the fingers' span along y"
    assert zhi > FINGER_DEPTH + 0.03 and zlo < -0.06, "ahead of the fingertips and behind the palm"
    assert zlo == pytest.approx(-0.025 - TCP_FROM_LINK) and zhi == pytest.approx(0.15 - TCP_FROM_LINK)
    pts = gripper_points(30)
    assert np.all(pts.min(0) >= [xlo, ylo, zlo]) and np.all(pts.max(0) <= [xhi, yhi, zhi])
