"""IGD: the network, the loss's parts (targets, re-noising, negatives, focal loss), both batch layouts,
sampling, inference and weights I/O.

The contract (:class:`TestIGDContract`) runs on the tiny configuration of ``tests/tiny_planners.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from contract import PlannerContractTest
from scipy.spatial.transform import Rotation

from igd.constants import RESOLUTION, SIZE, VOXEL_SIZE
from igd.data.datasets import flatten_grasps
from igd.diffusion import make_scheduler
from igd.errors import IGDError
from igd.geometry import is_rigid
from igd.nn import quat_to_matrix, sample_planes
from igd.planners import postprocess
from igd.planners.base import Observation, load_planner
from igd.planners.igd import IGDConfig, IGDPlanner
from igd.planners.igd.loss import (
    NEGATIVE_YAWS,
    LossSettings,
    classifier_samples,
    focal_loss,
    noise_targets,
    quat_rot_z,
    symmetric_targets,
    wrong_cell,
)
from igd.planners.igd.model import IGDNet, attend_folded

SMALL = dict(features=8, hidden=16, unet_filters=8, denoiser_hidden=32)  # a fast network


pytestmark = pytest.mark.usefixtures("one_thread")


def small_net(**loss) -> IGDNet:
    torch.manual_seed(0)
    return IGDNet(**SMALL, loss_settings=LossSettings(**{"neg_rounds": 2, **loss}))


def scene_batch(box_grid: np.ndarray, s: int = 2, k: int = 3, points: int = 64, seed: int = 0) -> dict:
    """``s`` perturbed copies of the box grid, ``k`` grasps (every other one positive), ``points`` occupancy points."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.from_numpy(box_grid.copy()).expand(s, 1, 40, 40, 40).clone()
    grid += 0.01 * torch.rand(grid.shape, generator=g)
    label = torch.zeros(s, k)
    label[:, ::2] = 1.0
    occ_points = 0.1 + 0.1 * torch.rand(s, points, 3, generator=g)
    return {
        "grid": grid, "pos": 0.1 + 0.1 * torch.rand(s, k, 3, generator=g),
        "quat": torch.nn.functional.normalize(torch.randn(s, k, 4, generator=g), dim=-1),
        "width": torch.where(label > 0, 0.03 + 0.04 * torch.rand(s, k, generator=g), torch.full((s, k), 0.08)),
        "label": label, "occ_points": occ_points, "occ": (occ_points[..., 2] < 0.15).float(),
    }


def set_head(net: IGDNet, name: str, bias: float) -> None:
    """Make head ``decoder_<name>`` output the constant ``bias``."""
    head = getattr(net, f"decoder_{name}").fc_out
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(bias)


def relative_rotation(q0: torch.Tensor, q1: torch.Tensor) -> np.ndarray:
    """``R(q0)ᵀ R(q1)`` as numpy ``(…, 3, 3)``."""
    return (quat_to_matrix(q0).transpose(-1, -2) @ quat_to_matrix(q1)).numpy()


# --------------------------------------------------------------------------------------------------
# the contract (tests/planners/contract.py), on the tiny configuration of tests/tiny_planners.py
# --------------------------------------------------------------------------------------------------
class TestIGDContract(PlannerContractTest):
    planner_name = "igd"
    expected_capabilities = {"volumes", "query_points", "affordance", "sample_trajectories", "training_module"}


# --------------------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------------------
def test_default_network_is_the_papers():
    net = IGDNet()
    assert net.encoder.feature_dim == 96
    eps = net.denoiser.decoder
    assert (eps.fc_p.in_features, eps.fc_p.out_features) == (7, 128)  # p ⊕ noisy quaternion → 128
    assert len(eps.blocks) == 5 and all((fc.in_features, fc.out_features) == (112, 128) for fc in eps.fc_c)
    assert eps.fc_out.out_features == 4
    t_mlp = net.denoiser.time_mlp  # sinusoidal 16 → Linear 16→32 → Mish → Linear 32→16
    assert (t_mlp[1].in_features, t_mlp[1].out_features, t_mlp[3].out_features) == (16, 32, 16)
    assert isinstance(t_mlp[2], torch.nn.Mish)
    assert net.dam_diffuser.num_samples == net.dam_affordance.num_samples == 8
    assert net.dam_diffuser is not net.dam_affordance and net.attn_grasp.control_points.shape == (25, 3)
    assert net.attn_grasp.control_points.requires_grad
    for name in ("aff", "grasp", "width", "occ"):
        dec = getattr(net, f"decoder_{name}")
        assert dec.fc_p.out_features == 32 and len(dec.blocks) == 5 and dec.fc_out.out_features == 1


def test_forward_shapes_and_bad_shapes():
    net = small_net().eval()
    grid = torch.rand(2, 1, 40, 40, 40)
    out = net(grid, 0.3 * torch.rand(2, 5, 3), torch.nn.functional.normalize(torch.randn(2, 5, 4), dim=-1),
              0.3 * torch.rand(2, 7, 3))
    assert out.aff_logit.shape == out.width.shape == out.grasp_logit.shape == (2, 5) and out.occ_logit.shape == (2, 7)
    assert net(grid, 0.3 * torch.rand(2, 5, 3)).grasp_logit is None
    with pytest.raises(IGDError, match="shape"):
        net(torch.rand(2, 40, 40, 39), torch.rand(2, 5, 3))
    with pytest.raises(IGDError, match="quat"):
        net(grid, torch.rand(2, 5, 3), torch.rand(2, 5, 3))


def test_folded_attention_is_the_modules():
    """The re-associated attention gives the igd.nn modules' numbers (DAM and grasp-conditioned)."""
    net = small_net().eval()
    planes = net.encode(torch.rand(1, 40, 40, 40))
    p = torch.rand(1, 50, 3) - 0.5
    quat = torch.nn.functional.normalize(torch.randn(1, 50, 4), dim=-1)
    feature = sample_planes(planes, p)
    with torch.no_grad():
        for dam in (net.dam_diffuser, net.dam_affordance):
            torch.testing.assert_close(net.dam(dam, planes, p, feature), dam(planes, p, feature), rtol=1e-4, atol=1e-5)
        expected = net.decoder_grasp(p, net.attn_grasp(planes, p, quat, feature)).squeeze(-1)
        torch.testing.assert_close(net.classify(planes, p, quat, feature), expected, rtol=1e-4, atol=1e-5)
        sampled = torch.randn(1, 50, 8, net.encoder.feature_dim)
        torch.testing.assert_close(attend_folded(net.dam_diffuser, feature, sampled),
                                   net.dam_diffuser.attend(feature, sampled), rtol=1e-4, atol=1e-5)


def test_every_read_of_the_planes_uses_the_networks_mapping(box_grid):
    """plane_mapping="reference" reaches c(p), the DAMs' sample points and the classifier's control points:
    each head equals the same head computed by hand with reference reads, and differs from "ours"."""
    torch.manual_seed(0)
    ref = IGDNet(**SMALL, plane_mapping="reference").eval()
    ours = IGDNet(**SMALL).eval()
    ours.load_state_dict(ref.state_dict())
    grid = torch.from_numpy(box_grid.copy())
    p = torch.rand(1, 30, 3) * 0.6 - 0.3
    quat = torch.nn.functional.normalize(torch.randn(1, 30, 4), dim=-1)

    def read(planes, points):  # (1, N, K, 3) → (1, N, K, d), the reference's reads
        return sample_planes(planes, points.reshape(1, -1, 3), "reference").reshape(*points.shape[:3], -1)

    with torch.no_grad():
        planes = ref.encode(grid)
        c = sample_planes(planes, p, "reference")
        dam = ref.dam_affordance
        aff = ref.decoder_aff(p, attend_folded(dam, c, read(planes, dam.sample_points(p, c)))).squeeze(-1)
        cond = attend_folded(ref.dam_diffuser, c, read(planes, ref.dam_diffuser.sample_points(p, c)))
        grasp = ref.decoder_grasp(p, attend_folded(ref.attn_grasp, c, read(planes, ref.attn_grasp.sample_points(
            p, quat)))).squeeze(-1)
        torch.testing.assert_close(ref.affordance(planes, p), aff)
        torch.testing.assert_close(ref.condition(planes, p), cond)
        torch.testing.assert_close(ref.classify(planes, p, quat), grasp)
        torch.testing.assert_close(ref.width(planes, p), ref.decoder_width(p, c).squeeze(-1))
        planes_ours = ours.encode(grid)
        for head in ("affordance", "condition", "width"):
            assert not torch.allclose(getattr(ours, head)(planes_ours, p), getattr(ref, head)(planes, p), atol=1e-4)
    assert IGDPlanner(IGDConfig(**SMALL, plane_mapping="reference")).net.attn_grasp.plane_mapping == "reference"


def test_denoiser_fast_path_is_its_forward():
    net = small_net().eval()
    p, x_t = torch.rand(20, 3) - 0.5, torch.randn(20, 4)
    cond, t = torch.randn(20, net.encoder.feature_dim), torch.tensor(37)
    with torch.no_grad():
        slow = net.denoiser(p, x_t, t.expand(20), cond)
        fast = net.denoiser.denoise(p, x_t, t, net.denoiser.precondition(cond))
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# targets, re-noising, negatives, focal loss
# --------------------------------------------------------------------------------------------------
def test_quat_rot_z_is_a_turn_about_the_grasp_z():
    q = torch.nn.functional.normalize(torch.randn(6, 4, dtype=torch.float64), dim=-1)
    for angle in (0.3, math.pi / 5, math.pi):
        expected = (Rotation.from_quat(q.numpy()) * Rotation.from_euler("z", angle)).as_matrix()
        np.testing.assert_allclose(quat_to_matrix(quat_rot_z(q, angle)).numpy(), expected, atol=1e-12)


def test_the_four_symmetric_targets_are_the_same_grasp():
    q = torch.nn.functional.normalize(torch.randn(5, 4, dtype=torch.float64), dim=-1)
    targets = symmetric_targets(q)  # (5, 4, 4)
    rot = quat_to_matrix(targets).numpy()  # (5, 4, 3, 3)
    np.testing.assert_allclose(rot[:, 2], rot[:, 0], atol=1e-12)  # −q: the same rotation
    np.testing.assert_allclose(rot[:, 3], rot[:, 1], atol=1e-12)
    flip = np.diag([-1.0, -1.0, 1.0])  # q·Rz(π): same approach axis z, fingers swapped along y
    np.testing.assert_allclose(rot[:, 1], rot[:, 0] @ flip, atol=1e-12)
    np.testing.assert_allclose(rot[:, 1, :, 2], rot[:, 0, :, 2], atol=1e-12)
    gram = torch.einsum("bid,bjd->bij", targets, targets)  # ±q and ±q·Rz(π) are orthogonal pairs
    np.testing.assert_allclose(gram.numpy(), np.broadcast_to(
        [[1, 0, -1, 0], [0, 1, 0, -1], [-1, 0, 1, 0], [0, -1, 0, 1]], (5, 4, 4)), atol=1e-12)


def test_renoising_leaves_no_sample_nearer_another_target():
    g = torch.Generator().manual_seed(0)
    targets = symmetric_targets(torch.nn.functional.normalize(torch.randn(64, 3, 4, generator=g), dim=-1))
    active = torch.ones(64, 3, dtype=torch.bool)
    active[:, 2] = False  # negatives: never redrawn
    scheduler = make_scheduler("ddpm")
    x_t, noise, t, valid, redrawn = noise_targets(scheduler, targets, active, tries=40, generator=g)
    assert x_t.shape == noise.shape == (64, 3, 4, 4) and t.shape == valid.shape == (64, 3, 4)
    torch.testing.assert_close(x_t, scheduler.add_noise(targets, noise, t))
    assert bool(valid.all()) and int(redrawn.sum()) > 10
    assert not bool(wrong_cell(x_t, targets)[:, :2].any())  # every positive in its own target's cell
    assert not bool(redrawn[:, 2].any())
    # without the rule, late timesteps often land in another target's cell
    _, _, _, valid0, _ = noise_targets(scheduler, targets, active, tries=0, generator=g)
    assert int((~valid0).sum()) > 10


def test_wrong_cell_is_nearest_target():
    targets = torch.eye(4)[None]  # (1, J=4, 4)
    x = torch.tensor([[[0.9, 0.1, 0.0, 0.0], [0.8, 0.3, 0.0, 0.0], [0.0, 0.0, 0.2, 0.1], [0.0, 0.0, 0.0, 0.5]]])
    assert wrong_cell(x, targets).tolist() == [[False, True, False, False]]


def test_the_96_negatives():
    g = torch.Generator().manual_seed(0)
    s, k, rounds = 2, 3, 10
    p = torch.rand(s, k, 3, generator=g) - 0.5
    targets = symmetric_targets(torch.nn.functional.normalize(torch.randn(s, k, 4, generator=g), dim=-1))
    label = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p_c, q_c, y_c = classifier_samples(p, targets, label, rounds, 0.03, g)
    assert p_c.shape == (s, k, 100, 3) and q_c.shape == (s, k, 100, 4) and y_c.shape == (s, k, 100)
    assert LossSettings().num_negatives == 96
    torch.testing.assert_close(y_c[..., :4], label[..., None].expand(s, k, 4))
    assert float(y_c[..., 4:].abs().sum()) == 0.0
    torch.testing.assert_close(q_c[..., :4, :], targets)
    # the 16: each target turned about the approach axis by 36°, 72°, 108°, 144°, at the grasp position
    turned = q_c[..., 4:20, :].reshape(s, k, 4, 4, 4)  # (S, K, yaw, target, 4)
    rel = relative_rotation(targets[:, :, None].expand_as(turned), turned)
    for i, yaw in enumerate(NEGATIVE_YAWS):
        np.testing.assert_allclose(rel[:, :, i], np.broadcast_to(Rotation.from_euler("z", yaw).as_matrix(),
                                                                 rel[:, :, i].shape), atol=1e-5)
    assert torch.equal(p_c[..., :20, :], p[:, :, None].expand(s, k, 20, 3))
    rounds_p = p_c[..., 20:, :].reshape(s, k, rounds, 2, 4, 3)
    rounds_q = q_c[..., 20:, :].reshape(s, k, rounds, 2, 4, 4)
    # (a) jittered positions, same orientations: σ = 3 cm = 0.1 normalised per axis
    assert torch.equal(rounds_q[:, :, :, 0], targets[:, :, None].expand(s, k, rounds, 4, 4))
    jitter = (rounds_p[:, :, :, 0] - p[:, :, None, None]) * 0.3  # metres
    assert float(jitter.std()) == pytest.approx(0.03, rel=0.15) and float(jitter.mean().abs()) < 0.01
    # (b) one random yaw of the four for the 4 targets, at the grasp position
    assert torch.equal(rounds_p[:, :, :, 1], p[:, :, None, None].expand(s, k, rounds, 4, 3))
    rel = relative_rotation(targets[:, :, None].expand(s, k, rounds, 4, 4), rounds_q[:, :, :, 1])
    angles = np.arctan2(rel[..., 1, 0], rel[..., 0, 0])  # about z
    np.testing.assert_allclose(rel[..., 2, 2], 1.0, atol=1e-5)
    per_round = angles.reshape(-1, 4)
    assert np.allclose(per_round, per_round[:, :1], atol=1e-5)  # the same yaw for the 4 targets
    assert np.all(np.min(np.abs(per_round[:, :1] - np.array(NEGATIVE_YAWS)), axis=1) < 1e-4)


def test_focal_loss_closed_form():
    logits = torch.tensor([-2.0, -0.3, 0.0, 0.7, 3.0], dtype=torch.float64)
    p = torch.sigmoid(logits)
    for alpha, gamma in ((0.5, 2.0), (0.25, 1.0), (0.5, 0.0)):
        pos = -alpha * (1 - p) ** gamma * torch.log(p)
        neg = -(1 - alpha) * p ** gamma * torch.log(1 - p)
        torch.testing.assert_close(focal_loss(logits, torch.ones_like(p), alpha, gamma), pos)
        torch.testing.assert_close(focal_loss(logits, torch.zeros_like(p), alpha, gamma), neg)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(p), reduction="none")
    torch.testing.assert_close(focal_loss(logits, torch.ones_like(p), 0.5, 0.0), 0.5 * bce)


# --------------------------------------------------------------------------------------------------
# the loss
# --------------------------------------------------------------------------------------------------
def test_loss_is_finite_and_decreases(box_grid):
    net = small_net().train()
    batch = scene_batch(box_grid, s=2, k=4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for step in range(10):
        loss, metrics = net.loss(batch, torch.Generator().manual_seed(step % 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(np.isfinite(losses)) and losses[-1] < 0.8 * losses[0], losses
    assert set(metrics) >= {"loss", "loss_ddpm", "loss_aff", "loss_grasp", "loss_width", "loss_occ", "aff_accuracy",
                            "grasp_accuracy", "occ_accuracy", "positives", "no_positives", "renoise_left"}
    terms = metrics["loss_ddpm"] + metrics["loss_aff"] + metrics["loss_grasp"] + 0.01 * metrics["loss_width"] \
        + metrics["loss_occ"]
    assert metrics["loss"] == pytest.approx(terms, rel=1e-5)


def test_scene_batched_and_per_grasp_losses_agree(box_grid):
    """S scenes × K grasps = the S·K one-grasp items: the same loss and metrics; with the same generator the
    random terms too, and the deterministic terms (L_a, L_w, L_occ) whatever the draws."""
    net = small_net().eval()  # no dropout
    batch = scene_batch(box_grid, s=2, k=3)
    flat = flatten_grasps(batch)
    assert flat["pos"].shape == (6, 3)
    loss_s, metrics_s = net.loss(batch, torch.Generator().manual_seed(5))
    grad_s = torch.autograd.grad(loss_s, list(net.parameters()), allow_unused=True)
    loss_f, metrics_f = net.loss(flat, torch.Generator().manual_seed(5))
    grad_f = torch.autograd.grad(loss_f, list(net.parameters()), allow_unused=True)
    torch.testing.assert_close(loss_s, loss_f, rtol=1e-5, atol=1e-6)
    for key in metrics_s:
        assert metrics_s[key] == pytest.approx(metrics_f[key], rel=1e-4, abs=1e-6), key
    for a, b in zip(grad_s, grad_f):
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)
    _, other = net.loss(flat, torch.Generator().manual_seed(6))
    for key in ("loss_aff", "loss_width", "loss_occ", "aff_accuracy", "occ_accuracy"):
        assert other[key] == pytest.approx(metrics_s[key], rel=1e-5, abs=1e-7), key


def test_width_units_and_affordance_term(box_grid):
    net = small_net().eval()
    set_head(net, "width", 0.1)  # 0.1 workspace units = 0.03 m
    set_head(net, "aff", 0.0)  # a = 0.5
    batch = scene_batch(box_grid, s=2, k=4)
    _, metrics = net.loss(batch)
    label = batch["label"]
    expected = (((0.1 - batch["width"] / SIZE) ** 2) * label).sum() / label.sum()
    assert metrics["loss_width"] == pytest.approx(float(expected), rel=1e-5)
    assert metrics["loss_aff"] == pytest.approx(math.log(2), rel=1e-5)


def test_a_batch_without_positives_gives_a_finite_loss(box_grid):
    net = small_net().train()
    batch = scene_batch(box_grid)
    batch["label"] = torch.zeros_like(batch["label"])
    loss, metrics = net.loss(batch)
    loss.backward()
    assert math.isfinite(float(loss.detach())) and metrics["no_positives"] == 1.0 and metrics["positives"] == 0.0
    assert metrics["loss_ddpm"] == 0.0 and metrics["loss_width"] == 0.0 and metrics["loss_grasp"] > 0
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_loss_rejects_bad_batches(box_grid):
    net = small_net()
    batch = scene_batch(box_grid)
    with pytest.raises(IGDError, match="occ_points"):
        net.loss({k: v for k, v in batch.items() if k not in ("occ_points", "occ")})
    with pytest.raises(IGDError, match="quat must have shape"):
        net.loss({**batch, "quat": batch["quat"][:, :2]})
    with pytest.raises(IGDError, match="grid"):
        net.loss({**batch, "grid": batch["grid"][:1]})
    with pytest.raises(IGDError, match="shape"):
        net.loss({**batch, "grid": batch["grid"][..., :39]})
    for key in ("width", "pos", "grid"):
        bad = batch[key].clone()
        bad.view(-1)[0] = float("nan")
        with pytest.raises(IGDError, match=f"{key} holds NaN"):
            net.loss({**batch, key: bad})


# --------------------------------------------------------------------------------------------------
# sampling and inference
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, steps", [("ddim", 4), ("ddpm", 100), ("dpm", 4)])
def test_sampling_returns_unit_quaternions_deterministically(kind, steps):
    net = small_net().eval()
    planes = net.encode(torch.rand(1, 40, 40, 40))
    p = torch.rand(1, 30, 3) - 0.5
    scheduler = make_scheduler(kind, steps)
    with torch.no_grad():
        cond = net.condition(planes, p)
        a = net.sample_quat(p, cond, scheduler, torch.Generator().manual_seed(1))
        b = net.sample_quat(p, cond, scheduler, torch.Generator().manual_seed(1))
        c = net.sample_quat(p, cond, scheduler, torch.Generator().manual_seed(2))
    assert a.shape == (1, 30, 4)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(1, 30))
    assert torch.equal(a, b) and not torch.equal(a, c)


def confident_planner(**config) -> IGDPlanner:
    """A tiny planner whose affordance and classifier heads say 0.95 everywhere, width 5 voxels.

    ``gate_region='surface'`` by default: with a constant affordance, 'all' would spend the cap of
    gated points on the first voxels in index order (the x = 0 border), where no grasp can come out.
    """
    torch.manual_seed(0)
    planner = IGDPlanner(IGDConfig(**SMALL, **{"steps": 3, "max_points": 200, "gate_region": "surface", **config}))
    set_head(planner.net, "aff", 3.0)
    set_head(planner.net, "grasp", 3.0)
    set_head(planner.net, "width", 0.125)  # 0.0375 m
    return planner


def test_plan_returns_valid_grasps(box_grid):
    planner = confident_planner(max_points=RESOLUTION ** 3)  # every voxel near the surface: q survives smoothing
    grasps = planner.timed_plan(Observation(box_grid))
    assert len(grasps) > 0 and all(is_rigid(pose) for pose in grasps.poses)
    np.testing.assert_allclose(grasps.widths, 0.0375, rtol=1e-5)
    assert np.all((grasps.scores > 0.5) & (grasps.scores <= 1)) and np.all(np.diff(grasps.scores) <= 0)
    info = grasps.info
    assert info["gated_points"] == postprocess.surface_mask(box_grid, 0.5, 3).sum()
    assert info["sampler"] == "ddim" and info["steps"] == 3
    parts = info["time_network"] + info["time_sampling"] + info["time_postprocess"]
    assert 0 < parts <= info["planning_time"] + 1e-6
    pred = planner.predict(box_grid)
    index = np.round(grasps.poses[:, :3, 3] / VOXEL_SIZE).astype(int)
    assert np.all(pred.gated[tuple(index.T)]), "grasps only at voxels where an orientation was drawn"
    np.testing.assert_allclose(pred.qual[pred.gated], (1 / (1 + math.exp(-3.0))) ** 2, rtol=1e-5)  # q = a·v
    assert np.all(pred.qual[~pred.gated] == 0)
    np.testing.assert_allclose(np.linalg.norm(pred.rot, axis=0), 1.0, atol=1e-5)
    rot = Rotation.from_quat(pred.rot[:, index[:, 0], index[:, 1], index[:, 2]].T).as_matrix()
    np.testing.assert_allclose(grasps.poses[:, :3, :3], rot, atol=1e-6)
    assert len(planner.plan(Observation(np.zeros_like(box_grid)))) == 0


def test_plan_is_deterministic_for_a_seed(box_grid):
    planner = confident_planner(sampler="ddpm", steps=5)
    first = planner.predict(box_grid).rot
    assert np.array_equal(planner.predict(box_grid).rot, first)
    planner.reseed(1)
    assert not np.array_equal(planner.predict(box_grid).rot, first)
    planner.reseed(0)
    assert np.array_equal(planner.predict(box_grid).rot, first)


def test_the_gate(box_grid):
    planner = confident_planner(max_points=50, gate_region="all")
    pred = planner.predict(box_grid)
    assert pred.gated.sum() == 50 and np.all(pred.affordance > 0.9)  # queried at every voxel
    set_head(planner.net, "aff", -3.0)  # a = 0.047 < 0.1: nothing is sampled, nothing proposed
    pred = planner.predict(box_grid)
    assert pred.gated.sum() == 0 and len(planner.plan(Observation(box_grid))) == 0
    near = confident_planner(gate_region="surface", max_points=RESOLUTION ** 3)
    pred = near.predict(box_grid)
    region = postprocess.surface_mask(box_grid, 0.5, 3)
    assert np.array_equal(pred.gated, region) and np.all(pred.affordance[~region] == 0)


def test_rounds_keep_the_best_classifier_score(box_grid, monkeypatch):
    torch.manual_seed(0)
    planner = IGDPlanner(IGDConfig(**SMALL, steps=2, rounds_n=3, max_points=40))
    drawn = []
    original = planner.net.sample_quat
    monkeypatch.setattr(planner.net, "sample_quat", lambda *a, **kw: drawn.append(original(*a, **kw)) or drawn[-1])
    pred = planner.predict(box_grid)
    index = torch.from_numpy(np.flatnonzero(pred.gated.ravel()))
    assert len(index) == 40 and len(drawn) == 1 and drawn[0].shape == (120, 4)
    p = planner._points[index][None]
    with torch.no_grad():
        planes = planner.net.encode(torch.from_numpy(box_grid.copy()))
        scores = torch.sigmoid(planner.net.classify(planes, p.repeat(1, 3, 1), drawn[0][None]))[0].reshape(3, 40)
        aff = torch.sigmoid(planner.net.affordance(planes, p))[0]
    best = scores.argmax(0)
    kept = drawn[0].reshape(3, 40, 4)[best, torch.arange(40)]
    np.testing.assert_allclose(pred.rot.reshape(4, -1)[:, index].T, kept.numpy(), atol=1e-6)
    np.testing.assert_allclose(pred.qual.ravel()[index], (aff * scores.max(0).values).numpy(), rtol=1e-4)


def test_bfloat16_inference_runs(box_grid):
    exact = confident_planner()
    fast = confident_planner(precision="bfloat16")
    q0, q1 = exact.predict(box_grid).qual, fast.predict(box_grid).qual
    assert q1.dtype == np.float32 and np.abs(q0 - q1).max() < 0.05


def test_predict_rejects_a_wrong_grid():
    with pytest.raises(IGDError, match="grid"):
        confident_planner().predict(np.zeros((1, 40, 40, 39)))


# --------------------------------------------------------------------------------------------------
# config and weights
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [dict(hidden=0), dict(sampler="euler"), dict(steps=0), dict(steps=101),
                                 dict(rounds_n=0), dict(gate_threshold=1.5), dict(max_points=0),
                                 dict(gate_region="near"), dict(precision="float16"), dict(device="gpu"),
                                 dict(time_dim=7), dict(neg_rounds=-1), dict(force="no"), dict(seed=-1),
                                 dict(plane_mapping="giga"), dict(width_unit="voxel")])
def test_config_validation(bad):
    with pytest.raises(IGDError, match=f"IGDConfig.{next(iter(bad))}"):
        IGDConfig(**bad)


def test_config_steps_default_per_sampler():
    assert IGDConfig().sampler_steps == 10 and IGDConfig(sampler="ddpm").sampler_steps == 100
    assert IGDConfig(sampler="dpm", steps=7).sampler_steps == 7


def test_round_trip_keeps_sizes_and_sampler(tmp_path):
    torch.manual_seed(0)
    planner = IGDPlanner(IGDConfig(**SMALL, sampler="ddpm", rounds_n=2))
    path = planner.save_pretrained(tmp_path / "igd.pt")
    again = IGDPlanner.from_weights(path)
    assert again.config == planner.config and again.scheduler.kind == "ddpm" and again.scheduler.steps == 100
    for key, value in planner.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
    fast = load_planner("igd", weights=path, sampler="ddim", steps=5, rounds_n=11)
    assert (fast.scheduler.kind, fast.scheduler.steps, fast.config.rounds_n) == ("ddim", 5, 11)


def test_a_giga_checkpoint_is_refused(tmp_path):
    from igd.planners.giga import GIGAConfig, GIGAPlanner

    path = GIGAPlanner(GIGAConfig(features=8, hidden=16, unet_filters=8)).save_pretrained(tmp_path / "giga.pt")
    with pytest.raises(IGDError, match="checkpoint is for planner 'giga', not 'igd'"):
        IGDPlanner.from_weights(path)
    with pytest.raises(IGDError, match="'giga'"):
        load_planner("igd", weights=path)


def test_raw_state_dicts_and_mismatched_sizes_are_refused(tmp_path):
    raw = tmp_path / "raw.pt"
    torch.save(small_net().state_dict(), raw)
    with pytest.raises(IGDError, match="raw state dict of .* no file igd reads"):
        IGDPlanner.from_weights(raw)
    path = IGDPlanner(IGDConfig(**SMALL)).save_pretrained(tmp_path / "small.pt")
    with pytest.raises(IGDError, match="shape mismatches"):
        IGDPlanner.from_pretrained(path, denoiser_hidden=64)
    planner = IGDPlanner(IGDConfig(**SMALL))
    state = planner.state_dict()
    state.pop("denoiser.decoder.fc_out.bias")
    with pytest.raises(IGDError, match="denoiser.decoder.fc_out.bias"):
        planner.load_state_dict(state)
