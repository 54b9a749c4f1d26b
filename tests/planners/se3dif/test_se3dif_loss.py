"""SE(3)-DiF's loss: the score targets against finite differences, the loss at a perfect energy, bad batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igd.errors import IGDError
from igd.lie import exp_so3r3, lie_gaussian_log_prob, log_so3r3, make_pose, perturb, random_rotations
from igd.planners.se3dif.loss import dsm_terms, from_net, lie_target, projected_target, rot_z_pi, se3dif_loss, to_net


def _poses(n: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return make_pose(random_rotations(n, g, dtype=dtype), 0.1 + 0.1 * torch.rand(n, 3, generator=g, dtype=dtype))


def test_lie_target_is_minus_the_finite_difference_score():
    """−s: the central difference of −log N_G(H' ⊕ ε; H, σ²) along each of the six perturbation axes."""
    h, h_noisy = to_net(_poses(4, 0)), to_net(_poses(4, 1))
    h_noisy = perturb(h, 0.3 * torch.randn(4, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    sigma = torch.tensor([0.05, 0.2, 0.5, 0.7], dtype=torch.float64)
    step = 1e-6
    fd = torch.zeros(4, 6, dtype=torch.float64)
    for axis in range(6):
        e = torch.zeros(4, 6, dtype=torch.float64)
        e[:, axis] = step
        plus = -lie_gaussian_log_prob(perturb(h_noisy, e), h, sigma)
        minus = -lie_gaussian_log_prob(perturb(h_noisy, -e), h, sigma)
        fd[:, axis] = (plus - minus) / (2 * step)
    torch.testing.assert_close(lie_target(h_noisy, h, sigma), fd, atol=1e-5, rtol=1e-5)


def test_projected_target_is_the_finite_difference_of_the_kernel():
    """z/σ: the gradient of −log q(x' | x) = ‖x' − x‖² / (2σ²) at x' = x + σz, by central differences."""
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(5, 6, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64)
    sigma = torch.linspace(0.01, 0.7, 5, dtype=torch.float64)
    xn = x + sigma[:, None] * z
    step, fd = 1e-6, torch.zeros(5, 6, dtype=torch.float64)
    for axis in range(6):
        e = torch.zeros(6, dtype=torch.float64)
        e[axis] = step
        f = lambda y: ((y - x) ** 2).sum(-1) / (2 * sigma ** 2)  # noqa: E731
        fd[:, axis] = (f(xn + e) - f(xn - e)) / (2 * step)
    torch.testing.assert_close(projected_target(z, sigma), fd, atol=1e-4, rtol=1e-6)


class _GaussianNet(torch.nn.Module):
    """An 'energy network' that is exactly the perturbed density of one grasp (network units): the
    score-matching loss must vanish on it (wrong signs, units or charts make it large)."""

    def __init__(self, mean: torch.Tensor, chart: str):
        super().__init__()
        self.mean, self.chart = mean, chart

    def energy(self, planes, h, sigma):
        h_net = to_net(h)
        if self.chart == "projected":
            d = log_so3r3(h_net) - log_so3r3(to_net(self.mean))
            return 0.5 * (d ** 2).sum(-1) / sigma ** 2
        return -lie_gaussian_log_prob(h_net, to_net(self.mean), sigma)


@pytest.mark.parametrize("loss", ["projected", "lie"])
def test_the_loss_vanishes_at_the_true_energy(loss):
    torch.manual_seed(0)
    mean = _poses(1, 3, torch.float32)[None].expand(2, 6, 4, 4).contiguous()  # (S, N) copies of one grasp
    net = _GaussianNet(mean, loss)
    err = dsm_terms(net, None, mean, loss)
    assert err.shape == (2, 6)
    assert float(err.detach().max()) < 2e-3
    wrong = _GaussianNet(mean, loss)
    wrong.energy = lambda planes, h, sigma: -_GaussianNet.energy(net, planes, h, sigma)  # the sign flipped
    assert float(dsm_terms(wrong, None, mean, loss).detach().mean()) > 0.05


def test_units_and_twin():
    h = _poses(3).float()
    torch.testing.assert_close(from_net(to_net(h)), h)
    assert torch.allclose(to_net(h)[:, :3, 3], 8 * h[:, :3, 3])
    twin = rot_z_pi(h)
    torch.testing.assert_close(twin[:, :3, 3], h[:, :3, 3])
    torch.testing.assert_close(twin[:, :3, 2], h[:, :3, 2])  # same approach axis
    torch.testing.assert_close(twin[:, :3, 1], -h[:, :3, 1])  # fingers swapped
    torch.testing.assert_close(rot_z_pi(twin), h)
    assert torch.allclose(exp_so3r3(log_so3r3(h.double())), h.double(), atol=1e-6)


def test_bad_batches_are_one_line_errors():
    from tiny_planners import tiny_planner

    net = tiny_planner("se3dif").training_module()
    with pytest.raises(IGDError, match="lacks key") as e:
        se3dif_loss(net, {"grid": torch.zeros(1, 1, 40, 40, 40)})
    assert "\n" not in str(e.value)
    batch = {"grid": torch.zeros(1, 1, 40, 40, 40), "pos": torch.zeros(1, 2, 3), "quat": torch.zeros(1, 2, 3),
             "width": torch.zeros(1, 2), "label": torch.zeros(1, 2), "occ_points": torch.zeros(1, 4, 3),
             "occ": torch.zeros(1, 4)}
    with pytest.raises(IGDError, match="quat must have shape"):
        se3dif_loss(net, batch)
    with pytest.raises(IGDError, match="poses must have shape"):
        net.energy(net.encode(torch.zeros(1, 40, 40, 40)), torch.eye(4).expand(3, 4, 4), torch.ones(3))


def test_a_few_steps_lower_the_loss_on_one_batch():
    """25 AdamW steps on one fixed synthetic batch (fixed noise) lower the joint loss: the loss trains."""
    from planner_scenes import make_box_grid
    from tiny_planners import tiny_planner

    net = tiny_planner("se3dif").training_module().train()
    g = torch.Generator().manual_seed(0)
    s, k = 2, 6
    batch = {"grid": torch.from_numpy(np.repeat(make_box_grid()[None], s, 0)),
             "pos": 0.12 + 0.06 * torch.rand(s, k, 3, generator=g),
             "quat": torch.nn.functional.normalize(torch.randn(s, k, 4, generator=g), dim=-1),
             "width": torch.full((s, k), 0.05), "label": (torch.arange(k) % 2).float().expand(s, k).contiguous(),
             "occ_points": 0.3 * torch.rand(s, 64, 3, generator=g), "occ": (torch.rand(s, 64, generator=g) > 0.8).float()}
    optim = torch.optim.AdamW(net.parameters(), lr=3e-3)

    def loss():
        torch.manual_seed(1)
        return net.loss(batch)[0]

    first = float(loss().detach())
    with torch.no_grad():  # validation: the score is a gradient, taken under no_grad too
        torch.manual_seed(1)
        assert float(net.loss(batch)[0]) == pytest.approx(first, rel=1e-5)
    for _ in range(25):
        optim.zero_grad()
        loss().backward()
        optim.step()
    assert float(loss().detach()) < 0.9 * first
