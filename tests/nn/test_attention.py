"""IGD's deformable attention (DAM) and the grasp-conditioned attention: shapes, initial sample points,
the attention formula, dropout, gradients."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from igd.constants import RESOLUTION, SIZE
from igd.nn import DeformableAttention, GraspConditionedAttention, anchor_offsets, gripper_sheet, quat_to_matrix
from igd.nn.triplane import sample_planes

HALF_VOXEL = 0.5 / RESOLUTION  # normalised units


@pytest.fixture
def planes() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(2, 3, 32, 40, 40)


def random_quats(*shape) -> torch.Tensor:
    return torch.from_numpy(Rotation.random(int(np.prod(shape)), random_state=3).as_quat()).float().reshape(*shape, 4)


def test_dam_shape(planes):
    dam = DeformableAttention().eval()
    p = torch.rand(2, 11, 3) - 0.5
    assert dam(planes, p).shape == (2, 11, 96)
    assert dam.num_samples == 8


def test_dam_sample_points_start_on_the_one_voxel_cube(planes):
    """Before training, the 8 sample points are exactly the corners of the one-voxel cube around p."""
    torch.manual_seed(1)
    dam = DeformableAttention()
    p = torch.rand(2, 6, 3) - 0.5
    points = dam.sample_points(p, sample_planes(planes, p))  # (2, 6, 8, 3)
    assert points.shape == (2, 6, 8, 3)
    offsets = points - p.unsqueeze(2)
    corners = torch.tensor(list(itertools.product([-HALF_VOXEL, HALF_VOXEL], repeat=3)))
    torch.testing.assert_close(offsets, corners.expand_as(offsets), rtol=0, atol=1e-7)
    # one voxel side (0.0075 m) in every axis, centred on p
    side = (offsets.amax(dim=2) - offsets.amin(dim=2)) * SIZE
    torch.testing.assert_close(side, torch.full_like(side, SIZE / RESOLUTION), rtol=0, atol=1e-7)
    torch.testing.assert_close(offsets.mean(dim=2), torch.zeros(2, 6, 3), rtol=0, atol=1e-7)


def test_anchor_offsets():
    assert anchor_offsets(2).shape == (8, 3)
    assert torch.allclose(anchor_offsets(2).abs(), torch.full((8, 3), HALF_VOXEL))
    three = anchor_offsets(3)
    assert three.shape == (27, 3) and (three.abs().sum(-1) == 0).sum() == 1  # includes the centre
    with pytest.raises(ValueError):
        anchor_offsets(1)


def test_dam_follows_the_attention_formula(planes):
    """out = W_O softmax(<W_Q c(p), W_K c(s_k)> / sqrt(d)) W_V c(s_k) + c(p)."""
    torch.manual_seed(2)
    dam = DeformableAttention().eval()
    p = torch.rand(2, 4, 3) - 0.5
    c = sample_planes(planes, p)
    s = dam.sample_points(p, c)
    cs = sample_planes(planes, s.reshape(2, -1, 3)).reshape(2, 4, 8, 96)
    q, k, v = dam.to_q(c), dam.to_k(cs), dam.to_v(cs)
    attn = torch.softmax((q.unsqueeze(2) * k).sum(-1) / math.sqrt(96), dim=-1)
    expected = dam.to_out((attn.unsqueeze(-1) * v).sum(2)) + c
    torch.testing.assert_close(dam(planes, p), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(dam(planes, p, feature=c), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mapping", ["ours", "reference"])
def test_both_modules_read_the_planes_with_their_mapping(planes, mapping):
    """c(p) and every sample point are read under the module's plane mapping (the encoder's)."""
    torch.manual_seed(3)
    dam = DeformableAttention(plane_mapping=mapping).eval()
    grasp = GraspConditionedAttention(plane_mapping=mapping).eval()
    p, quat = torch.rand(2, 4, 3) - 0.5, random_quats(2, 4)
    c = sample_planes(planes, p, mapping)
    for module, points in ((dam, dam.sample_points(p, c)), (grasp, grasp.sample_points(p, quat))):
        sampled = sample_planes(planes, points.reshape(2, -1, 3), mapping).reshape(2, 4, -1, 96)
        expected = module.attend(c, sampled)
        got = dam(planes, p) if module is dam else grasp(planes, p, quat)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    other = DeformableAttention(plane_mapping="ours" if mapping == "reference" else "reference").eval()
    other.load_state_dict(dam.state_dict())
    assert not torch.allclose(other(planes, p), dam(planes, p), atol=1e-3)  # the mapping changes what is read


def test_dropout_only_in_training(planes):
    dam = DeformableAttention(dropout=0.5)
    p = torch.rand(2, 50, 3) - 0.5
    dam.eval()
    torch.testing.assert_close(dam(planes, p), dam(planes, p))
    dam.train()
    torch.manual_seed(0)
    assert not torch.allclose(dam(planes, p), dam.eval()(planes, p))


def test_dam_learns_where_to_look(planes):
    dam = DeformableAttention()
    p = torch.rand(2, 5, 3) - 0.5
    dam(planes, p).pow(2).sum().backward()
    assert dam.to_offset.weight.grad.abs().sum() > 0  # the offsets get a gradient through the sampling
    assert dam.to_offset.bias.grad.abs().sum() > 0


def test_gripper_sheet():
    sheet = gripper_sheet() * SIZE  # metres
    assert sheet.shape == (25, 3)
    assert torch.all(sheet[:, 0] == 0)
    ys, zs = sorted(set(np.round(sheet[:, 1].tolist(), 6))), sorted(set(np.round(sheet[:, 2].tolist(), 6)))
    np.testing.assert_allclose(ys, np.linspace(-0.04, 0.04, 5), atol=1e-6)
    np.testing.assert_allclose(zs, np.linspace(0.0, 0.05, 5), atol=1e-6)


def test_grasp_attention_shape_and_parameters(planes):
    gca = GraspConditionedAttention().eval()
    p, q = torch.rand(2, 7, 3) - 0.5, random_quats(2, 7)
    assert gca(planes, p, q).shape == (2, 7, 96)
    assert isinstance(gca.control_points, torch.nn.Parameter) and gca.control_points.shape == (25, 3)
    fixed = GraspConditionedAttention(learnable=False)
    assert "control_points" in dict(fixed.named_buffers())


def test_grasp_attention_moves_the_control_points_by_the_grasp():
    gca = GraspConditionedAttention()
    p = torch.rand(1, 4, 3) - 0.5
    q = random_quats(1, 4)
    points = gca.sample_points(p, q)  # (1, 4, 25, 3)
    u = gca.control_points.detach().numpy()
    for n in range(4):
        expected = Rotation.from_quat(q[0, n].numpy()).apply(u) + p[0, n].numpy()
        np.testing.assert_allclose(points[0, n].detach().numpy(), expected, atol=1e-6)
    identity = torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(1, 4, 4)
    torch.testing.assert_close(gca.sample_points(p, identity), p.unsqueeze(2) + gca.control_points)


def test_grasp_attention_control_points_learn(planes):
    gca = GraspConditionedAttention()
    gca(planes, torch.rand(2, 3, 3) - 0.5, random_quats(2, 3)).pow(2).sum().backward()
    assert gca.control_points.grad is not None and gca.control_points.grad.abs().sum() > 0


def test_quat_to_matrix_matches_scipy():
    q = random_quats(10).double()
    expected = Rotation.from_quat(q.numpy()).as_matrix()
    np.testing.assert_allclose(quat_to_matrix(q).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(3.0 * q).numpy(), expected, atol=1e-12)  # normalised first
