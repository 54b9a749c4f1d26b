"""GIGA: the network's shapes, the loss (units, both batch layouts, learning), inference and weights I/O.

The contract (:class:`TestGIGAContract`) runs on the tiny configuration of ``tests/tiny_planners.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from contract import PlannerContractTest

from igd.constants import RESOLUTION, SIZE, VOXEL_SIZE
from igd.data.datasets import flatten_grasps
from igd.errors import IGDError
from igd.geometry import is_rigid
from igd.planners.base import Observation, load_planner
from igd.planners.giga import GIGAConfig, GIGAPlanner
from igd.planners.giga.model import GIGANet

SMALL = dict(features=8, hidden=16, unet_filters=8)  # a fast network for the loss tests


pytestmark = pytest.mark.usefixtures("one_thread")


def scene_batch(box_grid: np.ndarray, s: int = 2, k: int = 3, points: int = 64, seed: int = 0) -> dict:
    """A scene batch: ``s`` perturbed copies of the box grid, ``k`` grasps and ``points`` occupancy points each."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.from_numpy(box_grid.copy()).expand(s, 1, 40, 40, 40).clone()
    grid += 0.01 * torch.rand(grid.shape, generator=g)
    quat = torch.nn.functional.normalize(torch.randn(s, k, 4, generator=g), dim=-1)
    label = torch.zeros(s, k)
    label[:, ::2] = 1.0
    occ_points = 0.1 + 0.1 * torch.rand(s, points, 3, generator=g)
    return {
        "grid": grid, "pos": 0.1 + 0.1 * torch.rand(s, k, 3, generator=g), "quat": quat,
        "width": torch.where(label > 0, 0.03 + 0.04 * torch.rand(s, k, generator=g), torch.full((s, k), 0.08)),
        "label": label, "occ_points": occ_points, "occ": (occ_points[..., 2] < 0.15).float(),
    }


def set_head(net: GIGANet, name: str, bias) -> None:
    """Make head ``name`` output the constant ``bias`` (zero output weights)."""
    head = getattr(net, f"decoder_{name}").fc_out
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))


# --------------------------------------------------------------------------------------------------
# the contract (tests/planners/contract.py), on the tiny configuration of tests/tiny_planners.py
# --------------------------------------------------------------------------------------------------
class TestGIGAContract(PlannerContractTest):
    planner_name = "giga"
    expected_capabilities = {"volumes", "query_points", "training_module"}


# --------------------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------------------
def test_forward_shapes():
    torch.manual_seed(0)
    net = GIGANet(**SMALL).eval()
    out = net(torch.rand(2, 1, 40, 40, 40), 0.3 * torch.rand(2, 5, 3), 0.3 * torch.rand(2, 7, 3))
    assert out.qual_logit.shape == (2, 5) and out.rot.shape == (2, 5, 4) and out.width.shape == (2, 5)
    assert out.occ_logit.shape == (2, 7)
    torch.testing.assert_close(out.rot.norm(dim=-1), torch.ones(2, 5))
    assert torch.all((out.qual >= 0) & (out.qual <= 1)) and out.occ.shape == (2, 7)
    no_occ = net(torch.rand(2, 40, 40, 40), 0.3 * torch.rand(2, 5, 3))
    assert no_occ.occ_logit is None and no_occ.occ is None


def test_default_network_is_gigas():
    net = GIGANet()
    assert net.encoder.conv_in.out_channels == 32 and net.encoder.feature_dim == 96
    for name, out_dim in (("qual", 1), ("rot", 4), ("width", 1), ("occ", 1)):
        dec = getattr(net, f"decoder_{name}")
        assert dec.fc_out.out_features == out_dim and dec.fc_p.out_features == 32 and len(dec.blocks) == 5


def test_sampling_once_gives_the_heads_outputs():
    """forward samples the planes once for grasp and occupancy points; same as querying the heads apart."""
    torch.manual_seed(0)
    net = GIGANet(**SMALL).eval()
    grid, pg, po = torch.rand(2, 1, 40, 40, 40), 0.3 * torch.rand(2, 5, 3), 0.3 * torch.rand(2, 7, 3)
    with torch.no_grad():
        out = net(grid, pg, po)
        planes = net.encode(grid)
        qual_logit, rot, width = net.grasp_heads(planes, pg / 0.3 - 0.5)
        occ_logit = net.occupancy(planes, po / 0.3 - 0.5)
    for a, b in ((out.qual_logit, qual_logit), (out.rot, rot), (out.width, width), (out.occ_logit, occ_logit)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("grid, pg", [
    (torch.rand(2, 40, 40, 39), torch.rand(2, 5, 3)),
    (torch.rand(2, 1, 40, 40, 40), torch.rand(3, 5, 3)),
    (torch.rand(2, 1, 40, 40, 40), torch.rand(2, 5)),
])
def test_forward_rejects_bad_shapes(grid, pg):
    with pytest.raises(IGDError, match="shape"):
        GIGANet(**SMALL)(grid, pg)


# --------------------------------------------------------------------------------------------------
# the loss
# --------------------------------------------------------------------------------------------------
def test_scene_batched_and_per_grasp_losses_agree(box_grid):
    """S scenes × K grasps give the same loss, metrics and gradients as the S·K one-grasp items."""
    torch.manual_seed(0)
    net = GIGANet(**SMALL).eval()  # eval: no randomness in the forward
    batch = scene_batch(box_grid, s=2, k=3)
    flat = flatten_grasps(batch)
    assert flat["pos"].shape == (6, 3) and flat["occ"].shape == (6, 64)
    loss_scene, metrics_scene = net.loss(batch)
    grad_scene = torch.autograd.grad(loss_scene, list(net.parameters()))
    loss_flat, metrics_flat = net.loss(flat)
    grad_flat = torch.autograd.grad(loss_flat, list(net.parameters()))
    torch.testing.assert_close(loss_scene, loss_flat, rtol=1e-5, atol=1e-6)
    for key in metrics_scene:
        assert metrics_scene[key] == pytest.approx(metrics_flat[key], rel=1e-4, abs=1e-6), key
    for a, b in zip(grad_scene, grad_flat):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_loss_terms_and_width_units(box_grid):
    """Constant heads: every term has its closed form (widths in workspace units, occupancy BCE, label gating)."""
    net = GIGANet(**SMALL).eval()
    set_head(net, "qual", [0.0])  # q̂ = 0.5
    set_head(net, "width", [0.1])  # 0.1 workspace units = 0.03 m
    set_head(net, "occ", [0.0])  # ô = 0.5
    batch = scene_batch(box_grid, s=2, k=4)
    loss, metrics = net.loss(batch)
    label = batch["label"]
    width_units = batch["width"] / SIZE  # metres / 0.3, GIGA's unit
    expected_width = ((0.1 - width_units) ** 2 * label).sum() / label.sum()
    assert metrics["loss_width"] == pytest.approx(float(expected_width), rel=1e-5)
    assert metrics["loss_qual"] == pytest.approx(np.log(2), rel=1e-5)
    assert metrics["loss_occ"] == pytest.approx(np.log(2), rel=1e-5)
    assert set(metrics) >= {"loss", "loss_qual", "loss_rot", "loss_width", "loss_occ", "accuracy",
                            "precision", "recall", "occ_accuracy", "positives"}
    terms = metrics["loss_rot"] + 0.01 * metrics["loss_width"]
    assert metrics["loss"] == pytest.approx(np.log(2) + float(label.mean()) * terms + np.log(2), rel=1e-5)
    assert float(loss.detach()) == pytest.approx(metrics["loss"])


def test_loss_decreases_over_a_few_steps(box_grid):
    torch.manual_seed(0)
    net = GIGANet(**SMALL).train()
    batch = scene_batch(box_grid, s=2, k=4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        loss, _ = net.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(np.isfinite(losses)) and losses[-1] < 0.8 * losses[0], losses


def test_loss_rejects_bad_batches(box_grid):
    net = GIGANet(**SMALL)
    batch = scene_batch(box_grid)
    with pytest.raises(IGDError, match="occ_points"):
        net.loss({k: v for k, v in batch.items() if k not in ("occ_points", "occ")})
    with pytest.raises(IGDError, match="quat must have shape"):
        net.loss({**batch, "quat": batch["quat"][:, :2]})
    with pytest.raises(IGDError, match="occ must be"):
        net.loss({**batch, "occ": batch["occ"][:1]})
    nan_width = batch["width"].clone()
    nan_width[0, 0] = float("nan")
    with pytest.raises(IGDError, match="width holds NaN"):
        net.loss({**batch, "width": nan_width})


# --------------------------------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------------------------------
def test_predict_volumes_are_the_heads_at_voxel_positions(box_grid):
    torch.manual_seed(0)
    planner = GIGAPlanner(GIGAConfig(**SMALL, chunk_size=5000))
    qual, rot, width = planner.predict(box_grid)
    assert qual.shape == width.shape == (40, 40, 40) and rot.shape == (4, 40, 40, 40)
    index = torch.tensor([[0, 0, 0], [5, 20, 33], [39, 2, 17]])
    with torch.no_grad():
        out = planner.net(torch.from_numpy(box_grid.copy())[None], (index * VOXEL_SIZE).float()[None])
    i, j, k = index.numpy().T
    np.testing.assert_allclose(qual[i, j, k], out.qual[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rot[:, i, j, k].T, out.rot[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(width[i, j, k], out.width[0].numpy() * SIZE, rtol=1e-5, atol=1e-7)
    whole = GIGAPlanner(GIGAConfig(**SMALL, chunk_size=RESOLUTION ** 3))
    whole.load_state_dict(planner.state_dict())
    for a, b in zip(whole.predict(box_grid), (qual, rot, width)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_plan_returns_valid_grasps(box_grid):
    torch.manual_seed(0)
    planner = GIGAPlanner(GIGAConfig(**SMALL))
    set_head(planner.net, "qual", [3.0])  # quality 0.95 everywhere
    set_head(planner.net, "width", [0.125])  # 0.125 workspace units = 0.0375 m
    grasps = planner.timed_plan(Observation(box_grid))
    assert len(grasps) > 0 and grasps.info["planning_time"] > 0
    assert all(is_rigid(p) for p in grasps.poses)
    np.testing.assert_allclose(grasps.widths, 0.0375, rtol=1e-5)
    assert np.all((grasps.scores > 0.5) & (grasps.scores <= 1)) and np.all(np.diff(grasps.scores) <= 0)
    index = grasps.poses[:, :3, 3] / VOXEL_SIZE  # on the voxel lattice, inside the zeroed borders
    np.testing.assert_allclose(index, np.round(index), atol=1e-9)
    cfg = planner.postprocess
    assert np.all(index[:, :2] >= cfg.border_xy) and np.all(index[:, :2] <= RESOLUTION - 1 - cfg.border_xy)
    assert np.all(index[:, 2] >= cfg.border_z)
    assert len(planner.plan(Observation(np.zeros_like(box_grid)))) == 0  # nothing observed: no surface


def test_threshold_and_force(box_grid):
    planner = GIGAPlanner(GIGAConfig(**SMALL, threshold=1.0, force=True))
    set_head(planner.net, "qual", [2.0])
    set_head(planner.net, "width", [0.125])
    assert planner.postprocess.threshold == 1.0 and planner.postprocess.force
    forced = planner.plan(Observation(box_grid))
    assert len(forced) == 1 and forced.info["forced"]


def test_bfloat16_inference_is_close(box_grid):
    torch.manual_seed(0)
    exact = GIGAPlanner(GIGAConfig(**SMALL))
    fast = GIGAPlanner(GIGAConfig(**SMALL, precision="bfloat16"))
    fast.load_state_dict(exact.state_dict())
    (q0, _, w0), (q1, _, w1) = exact.predict(box_grid), fast.predict(box_grid)
    assert q1.dtype == np.float32 and np.abs(q0 - q1).max() < 0.05 and np.abs(w0 - w1).max() < 0.002


# --------------------------------------------------------------------------------------------------
# config and weights
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [dict(hidden=0), dict(features=2.5), dict(blocks=True), dict(unet_depth=5),
                                 dict(chunk_size=0), dict(threshold=1.5), dict(force="no"),
                                 dict(precision="float16"), dict(device="gpu"), dict(plane_mapping="giga"),
                                 dict(width_unit="voxel")])
def test_config_validation(bad):
    with pytest.raises(IGDError, match=f"GIGAConfig.{next(iter(bad))}"):
        GIGAConfig(**bad)


def test_round_trip_keeps_the_network_sizes(tmp_path, box_grid):
    torch.manual_seed(0)
    planner = GIGAPlanner(GIGAConfig(**SMALL, threshold=0.7))
    path = planner.save_pretrained(tmp_path / "giga.pt")
    again = GIGAPlanner.from_weights(path)
    assert again.config == planner.config and again.net.encoder.features == 8
    for key, value in planner.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
    override = load_planner("giga", weights=path, threshold=0.9)
    assert override.config.threshold == 0.9 and override.postprocess.threshold == 0.9


def test_checkpoint_of_another_planner_raises(tmp_path):
    from igd.planners.vgn import VGNPlanner

    path = VGNPlanner().save_pretrained(tmp_path / "vgn.pt")
    with pytest.raises(IGDError, match="checkpoint is for planner 'vgn', not 'giga'"):
        GIGAPlanner.from_weights(path)
    with pytest.raises(IGDError, match="'vgn'"):
        load_planner("giga", weights=path)


def test_raw_state_dict_in_our_names_is_refused(tmp_path):
    """A raw state dict carries no config (sizes, plane mapping, width unit): only the authors' files are read raw."""
    path = tmp_path / "raw.pt"
    torch.save(GIGANet(**SMALL).state_dict(), path)
    with pytest.raises(IGDError, match=r"raw state dict of 164 tensors .* no file giga reads; giga reads igd check"):
        GIGAPlanner.from_weights(path)


def test_mismatched_sizes_raise(tmp_path):
    path = GIGAPlanner(GIGAConfig(**SMALL)).save_pretrained(tmp_path / "small.pt")
    with pytest.raises(IGDError, match="shape mismatches"):
        GIGAPlanner.from_pretrained(path, hidden=32)  # a config that does not fit the weights
    planner = GIGAPlanner(GIGAConfig(**SMALL))
    state = planner.state_dict()
    state.pop("decoder_occ.fc_out.bias")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(IGDError) as e:
        planner.load_state_dict(state)
    assert "decoder_occ.fc_out.bias" in str(e.value) and "extra.weight" in str(e.value)
