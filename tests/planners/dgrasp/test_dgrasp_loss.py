"""dGrasp's training loss: the auxiliary slope loss's gradient (second order, through ∇_p Ψ) matches finite
differences; the slope poses and targets are where the approach path says; one training step for each
loss variant; the softmax cross-entropy is the textbook one."""

from __future__ import annotations

import math

import pytest
import torch

from igd.lie import quat_to_rotmat
from igd.planners.dgrasp import poses
from igd.planners.dgrasp.loss import LossSettings, aux_loss, ce_loss, slope_targets
from igd.planners.dgrasp.model import DGraspNet

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_NET = dict(features=2, unet_depth=1, unet_filters=2, n_points=4, point_hidden=4, hidden=6, occ_hidden=4,
                occ_blocks=1)


def tiny_net(rotation="quat", dtype=torch.float64, **settings):
    torch.manual_seed(0)
    return DGraspNet(**TINY_NET, rotation=rotation, loss_settings=LossSettings(**settings)).to(dtype)


def random_batch(s=2, k=5, occ=16, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn((s, k, 4), generator=g)
    label = torch.zeros(s, k)
    label[:, ::2] = 1.0
    return {"grid": torch.rand((s, 1, 40, 40, 40), generator=g, dtype=dtype),
            "pos": (0.05 + 0.2 * torch.rand((s, k, 3), generator=g)).to(dtype),
            "quat": (q / q.norm(dim=-1, keepdim=True)).to(dtype), "width": torch.full((s, k), 0.05, dtype=dtype),
            "label": label.to(dtype), "occ_points": (0.3 * torch.rand((s, occ, 3), generator=g)).to(dtype),
            "occ": (torch.rand((s, occ), generator=g) > 0.5).to(dtype)}


class _WithWeight:
    """``net`` whose value network reads the tensor ``weight`` as its parameter ``name`` (for gradcheck)."""

    class _Value(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, planes, p):
            return self.net.value(planes, p)

    def __init__(self, net, name, weight):
        self.module, self.name, self.weight, self.rotation = self._Value(net), name, weight, net.rotation

    def value(self, planes, p):
        return torch.func.functional_call(self.module, {f"net.{self.name}": self.weight}, (planes, p))


@pytest.mark.parametrize("rotation", ["quat", "sixd"])
def test_aux_loss_gradient_matches_finite_differences(rotation):
    """gradcheck of L_aux in the planes and in a weight of the value MLP: both reach the loss only through
    ∇_p Ψ (create_graph), so this checks the second-order path end to end."""
    net = tiny_net(rotation)
    batch = random_batch(s=1, k=2, dtype=torch.float64)
    rot = quat_to_rotmat(batch["quat"])
    p, target = slope_targets(rot, batch["pos"], LossSettings(aux_path_poses=2, aux_near_poses=2), rotation,
                              torch.Generator().manual_seed(1))
    p, target = p.flatten(1, 2), target.flatten(1, 2)
    weight = torch.ones(p.shape[:2], dtype=torch.float64)
    with torch.no_grad():
        planes = net.encode(batch["grid"])
    name = "value_mlp.0.weight"

    def loss_of(coarse, w):  # the planes plus a smooth 4 × 4 field up-sampled over them: few inputs, all read
        planes_in = planes + torch.nn.functional.interpolate(coarse, size=planes.shape[-2:], mode="bilinear",
                                                             align_corners=False).reshape(planes.shape)
        return aux_loss(_WithWeight(net, name, w), planes_in, p, target, weight)[0]

    coarse = torch.zeros((1, planes.shape[1] * planes.shape[2], 4, 4), dtype=torch.float64, requires_grad=True)
    inputs = (coarse, dict(net.named_parameters())[name].detach().clone().requires_grad_())
    grads = torch.autograd.grad(loss_of(*inputs), inputs)
    assert all(g.abs().sum() > 0 for g in grads), "the loss depends on both"
    assert torch.autograd.gradcheck(loss_of, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_slope_poses_follow_the_approach_path():
    """Path poses lie on the segment from the pre-grasp pose (5 cm back along the TCP z) to the grasp, with
    the grasp's rotation, and their target is ``gap`` of the way further along it; nearby poses' targets
    point to that pose ahead, rotation included."""
    batch = random_batch(s=2, k=3)
    rot, pos = quat_to_rotmat(batch["quat"]), batch["pos"]
    settings = LossSettings(aux_path_poses=5, aux_near_poses=6, aux_gap=0.2, aux_rotation_radius=0.3)
    p, target = slope_targets(rot, pos, settings, "quat", torch.Generator().manual_seed(0))
    assert p.shape == target.shape == (2, 3, 11, 7)
    path, ahead = p[:, :, :5], p[:, :, :5] + target[:, :, :5]
    z = rot[..., :, 2]
    for q in (path, ahead):
        t = (q[..., :3] + 0.5) * 0.3
        along = ((t - pos[:, :, None]) * z[:, :, None]).sum(-1)  # signed distance ahead of the grasp
        assert torch.all(along >= -0.05 - 1e-5) and torch.all(along <= 1e-5)
        off = t - pos[:, :, None] - along[..., None] * z[:, :, None]
        assert off.norm(dim=-1).max() < 1e-5, "on the approach axis"
    step = target[:, :, :5, :3] * 0.3
    torch.testing.assert_close(step.norm(dim=-1), torch.full((2, 3, 5), 0.2 * 0.05))
    torch.testing.assert_close(step / step.norm(dim=-1, keepdim=True), z[:, :, None].expand(-1, -1, 5, -1))
    assert torch.all(target[:, :, :5, 3:] == 0), "the straight path does not turn"
    near_goal = poses.rotation_matrix(p[:, :, 5:, 3:] + target[:, :, 5:, 3:], "quat")
    grasp = rot[:, :, None].expand_as(near_goal)
    twin = grasp * torch.tensor([-1.0, -1.0, 1.0])  # R · Rz(π): the first two columns negated
    same = torch.minimum((near_goal - grasp).abs().amax((-1, -2)), (near_goal - twin).abs().amax((-1, -2)))
    assert same.max() < 1e-4, "a nearby pose's target rotation is the grasp's (or its jaw twin)"
    assert target[:, :, 5:, 3:].norm(dim=-1).min() > 0, "nearby poses are turned off the path"


def test_ce_loss_is_softmax_cross_entropy_over_positives():
    g = torch.Generator().manual_seed(0)
    psi_demo, psi_neg = torch.randn((2, 4), generator=g), torch.randn((2, 7), generator=g)
    label = torch.tensor([[1.0, 0, 1, 1], [0, 0, 1, 0]])
    loss, _ = ce_loss(psi_demo, psi_neg, label)
    expected = []
    for s, k in label.nonzero().tolist():
        logits = torch.cat([psi_demo[s, k:k + 1], psi_neg[s]])
        expected.append(torch.nn.functional.cross_entropy(logits[None], torch.tensor([0])))
    torch.testing.assert_close(loss, torch.stack(expected).mean())
    with_failed, _ = ce_loss(psi_demo, psi_neg, label, psi_demo)
    assert with_failed > loss, "the label-0 rows join the softmax's denominator"
    zero, beat = ce_loss(psi_demo, psi_neg, torch.zeros_like(label))
    assert float(zero) == 0.0 and float(beat) == 0.0


VARIANTS = [dict(aux_loss=False, negatives=32), dict(aux_loss=True, negatives=8),
            dict(aux_loss=True, negatives=8, labelled_negatives=True, aux_near_poses=0)]


@pytest.mark.parametrize("rotation", ["quat", "sixd"])
@pytest.mark.parametrize("settings", VARIANTS, ids=["ce", "ce+aux", "ce+aux-labelled-no-near"])
def test_one_training_step_of_each_loss_variant(rotation, settings):
    net = tiny_net(rotation, dtype=torch.float32, aux_path_poses=2, aux_gap=0.25, **settings)
    batch = random_batch()
    loss, metrics = net.loss(batch, torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and torch.isfinite(loss) and all(math.isfinite(v) for v in metrics.values())
    assert (metrics["loss_aux"] != 0) == settings["aux_loss"]
    loss.backward()
    for part in ("encoder", "point_mlp", "value_mlp", "decoder_occ"):
        grads = [p.grad for n, p in net.named_parameters() if n.startswith(part) and p.grad is not None]
        assert grads and sum(float(g.abs().sum()) for g in grads) > 0, part
    again, _ = net.loss(batch, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again, loss), "the same generator draws the same poses"


def test_the_aux_loss_changes_the_gradient_of_the_value_network():
    batch = random_batch()
    grads = {}
    for aux in (False, True):
        net = tiny_net("quat", dtype=torch.float32, aux_loss=aux, negatives=8)
        loss, _ = net.loss(batch, torch.Generator().manual_seed(0))
        loss.backward()
        grads[aux] = net.value_mlp[0].weight.grad.clone()
    assert not torch.allclose(grads[False], grads[True])


@pytest.mark.parametrize("aux", [False, True])
def test_a_few_steps_on_one_batch_lower_the_loss(aux):
    """Fitting one batch: the cross-entropy collapses without the auxiliary loss; with it, the slope's
    cosine climbs and the total falls (the slope term leads early: its gradient grows as ∇Ψ shrinks)."""
    net = tiny_net("sixd", dtype=torch.float32, aux_loss=aux, negatives=16)
    batch = random_batch(s=1, k=4)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    history = []
    for _ in range(30):
        loss, metrics = net.loss(batch, torch.Generator().manual_seed(0))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history.append(metrics)
    first, last = history[0], history[-1]
    if aux:
        assert last["slope_cos"] > first["slope_cos"] + 0.3 and last["loss"] < first["loss"] - 0.4
    else:
        assert last["loss_ce"] < 0.1 * first["loss_ce"] and last["beats_negatives"] == 1.0
