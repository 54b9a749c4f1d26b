"""dGrasp's policy: Adam gradient ascent finds the maximum of known toy value functions from random starts
in both ascent modes and both rotation representations; the rotation stays on its manifold; the
selection keeps poses inside the valid volume and suppresses near duplicates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from planner_scenes import make_box_grid

from igd.constants import VALID_LOWER, VALID_UPPER
from igd.geometry import is_rigid
from igd.lie import quat_to_rotmat, random_rotations
from igd.planners.dgrasp import poses
from igd.planners.dgrasp.policy import ascend, candidate_voxels, initial_poses, select

pytestmark = pytest.mark.usefixtures("one_thread")

X_STAR = torch.tensor([0.1, -0.2, 0.15])  # normalised position of the toy maximum
R_STAR = quat_to_rotmat(torch.tensor([0.3, -0.5, 0.2, 0.8]))


def toy_value(rotation):
    """Ψ(p) = −‖x − x*‖² − ‖R(r) − R*‖²_F: one maximum, at (x*, R*)."""
    def value(p):
        rot = poses.rotation_matrix(p[:, 3:], rotation)
        return -((p[:, :3] - X_STAR) ** 2).sum(-1) - ((rot - R_STAR) ** 2).sum((-1, -2))
    return value


def starts(rotation, n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 3), generator=g) - 0.5
    return torch.cat([x, poses.rotation_params(random_rotations(n, g), rotation)], dim=-1)


def angle_to_star(p, rotation):
    rel = poses.rotation_matrix(p[:, 3:], rotation).transpose(-1, -2) @ R_STAR
    return torch.arccos(((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))


@pytest.mark.parametrize("rotation", ["quat", "sixd"])
@pytest.mark.parametrize("mode", ["sequential", "synchronous"])
def test_ascent_finds_the_maximum_of_a_toy_value(rotation, mode):
    p0 = starts(rotation)
    value = toy_value(rotation)
    assert angle_to_star(p0, rotation).max() > 1.5 and (p0[:, :3] - X_STAR).norm(dim=-1).max() > 0.3
    out = ascend(value, p0, rotation, mode, position_steps=150, rotation_steps=150, synchronous_steps=150,
                 position_lr=0.02, rotation_lr=0.05, keep_path=True)
    assert torch.all((out.p[:, :3] - X_STAR).norm(dim=-1) < 0.01)
    assert torch.all(angle_to_star(out.p, rotation) < 0.05)
    assert torch.all(out.psi > value(p0)), "every pose climbed"
    torch.testing.assert_close(out.psi, value(out.p))
    steps = 300 if mode == "sequential" else 150
    assert len(out.path) == steps + 1
    torch.testing.assert_close(out.path[0][:, :3], p0[:, :3])


@pytest.mark.parametrize("rotation", ["quat", "sixd"])
def test_sequential_moves_the_position_then_the_rotation(rotation):
    p0 = starts(rotation, n=4)
    out = ascend(toy_value(rotation), p0, rotation, "sequential", 5, 5, 0, 0.02, 0.05, keep_path=True)
    path = torch.stack(out.path)  # (11, 4, D)
    assert torch.all(path[1:6, :, :3] != path[:5, :, :3]) and torch.all(path[6:, :, :3] == path[5, :, :3])
    torch.testing.assert_close(path[:6, :, 3:], path[:1, :, 3:].expand(6, -1, -1))
    assert torch.any(path[6:, :, 3:] != path[5, :, 3:])


@pytest.mark.parametrize("rotation", ["quat", "sixd"])
def test_every_step_stays_on_the_rotation_manifold(rotation):
    p0 = starts(rotation, n=8)
    p0[:, 3:] *= 3.0  # off the manifold: tidied before the first step
    out = ascend(toy_value(rotation), p0, rotation, "synchronous", 0, 0, 6, 0.02, 0.5, keep_path=True)
    for p in out.path:
        h = poses.to_matrices(p.double(), rotation).numpy()
        assert all(is_rigid(m) for m in h)
        if rotation == "quat":
            torch.testing.assert_close(p[:, 3:].norm(dim=-1), torch.ones(8))
        else:  # the 6D vector is two orthonormal columns already
            torch.testing.assert_close(poses.tidy(p[:, 3:], rotation), p[:, 3:], atol=1e-6, rtol=0)


@pytest.mark.parametrize("rotation", ["quat", "sixd"])
def test_pose_vectors_round_trip_through_matrices(rotation):
    p = starts(rotation, n=5).double()
    h = poses.to_matrices(p, rotation)
    again = poses.from_matrices(h[:, :3, :3], h[:, :3, 3], rotation)
    torch.testing.assert_close(poses.to_matrices(again, rotation), h)


def test_initial_poses_lie_near_the_observed_surface_in_the_valid_volume():
    grid = make_box_grid()
    voxels = candidate_voxels(grid)
    assert 0 < len(voxels) < 40 ** 3 / 4
    p = initial_poses(grid, 200, "quat", torch.Generator().manual_seed(0))
    t = ((p[:, :3] + 0.5) * 0.3).numpy()
    nearest = np.min(np.abs(t[:, None] / 0.0075 - voxels[None]).max(-1), axis=1)
    assert np.all(nearest <= 0.5 + 1e-4), "within half a voxel of a candidate voxel"
    again = initial_poses(grid, 200, "quat", torch.Generator().manual_seed(0))
    assert torch.equal(p, again)
    assert initial_poses(np.zeros_like(grid), 10, "quat", torch.Generator()) is None


def test_select_keeps_valid_distinct_poses_best_first():
    h = np.tile(np.eye(4), (5, 1, 1))
    h[:, :3, 3] = [[0.1, 0.1, 0.1], [0.105, 0.1, 0.1], [0.2, 0.2, 0.2], [0.15, 0.15, 0.01], [0.25, 0.1, 0.1]]
    psi = np.array([1.0, 2.0, 0.5, 9.0, -1.0])
    kept = select(h, psi, max_grasps=10, nms_distance=0.02)
    assert kept.tolist() == [1, 2, 4], "3 is below the table, 0 is within 2 cm of the better 1"
    assert select(h, psi, max_grasps=2, nms_distance=0.02).tolist() == [1, 2]
    assert np.all((h[kept, :3, 3] >= VALID_LOWER) & (h[kept, :3, 3] <= VALID_UPPER))
