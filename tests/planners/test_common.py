"""What the planners share (igd.planners.common): the query lattice and the rotation loss."""

from __future__ import annotations

import numpy as np
import torch

from igd.constants import RESOLUTION, VOXEL_SIZE
from igd.planners.common.losses import quat_rot_z_pi, rotation_loss
from igd.planners.common.queries import query_points


def test_query_points_are_voxel_positions():
    points = query_points()
    assert points.shape == (1, RESOLUTION ** 3, 3)
    i, j, k = 3, 17, 38
    metres = (points[0, (i * RESOLUTION + j) * RESOLUTION + k] + 0.5) * 0.3
    torch.testing.assert_close(metres, torch.tensor([i, j, k]) * VOXEL_SIZE)


def test_rot_z_pi_is_the_symmetric_grasp():
    from scipy.spatial.transform import Rotation

    q = Rotation.random(5, random_state=0).as_quat()
    expected = (Rotation.from_quat(q) * Rotation.from_rotvec([0, 0, np.pi])).as_quat()
    ours = quat_rot_z_pi(torch.from_numpy(q)).numpy()
    assert np.allclose(np.abs(np.sum(ours * expected, axis=1)), 1.0)
    t = torch.from_numpy(q)
    assert torch.allclose(rotation_loss(t, quat_rot_z_pi(t)), torch.zeros(5, dtype=t.dtype), atol=1e-7)
    assert torch.allclose(rotation_loss(t, -t), torch.zeros(5, dtype=t.dtype), atol=1e-7)
