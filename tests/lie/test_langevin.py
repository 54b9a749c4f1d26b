"""``igd.lie.langevin``: the annealed Langevin sampler on SE(3), on energies whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from igd.lie import (
    SCHEDULES,
    LangevinSchedule,
    langevin_sample,
    langevin_step_sizes,
    lie_gaussian_log_prob,
    make_pose,
    marginal_std,
    random_rotations,
    so3_log,
)

torch.set_default_dtype(torch.float32)


def _mean_pose(seed: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return make_pose(random_rotations(1, g, dtype=torch.float64)[0], torch.tensor([0.4, -0.2, 1.1], dtype=torch.float64))


def _gaussian_energy(mean: torch.Tensor, s: float):
    """``E(H) = −log N_G(H; μ, s²I)``: the Lie-group Gaussian's negative log density (time ignored)."""
    return lambda h, t: -lie_gaussian_log_prob(h, mean.expand_as(h), s)


def _relative(h: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``(t − t_μ, Log(R_μᵀ R)) (B, 6)``."""
    rot = so3_log(mean[:3, :3].T @ h[:, :3, :3])
    return torch.cat([h[:, :3, 3] - mean[:3, 3], rot], dim=-1)


def _start(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return make_pose(random_rotations(n, g, dtype=torch.float64), torch.randn(n, 3, generator=g, dtype=torch.float64))


def test_marginal_std_and_step_sizes():
    assert marginal_std(1.0) == pytest.approx(math.sqrt(0.75 / (2 * math.log(2))))
    assert marginal_std(1e-5) == pytest.approx(math.sqrt(1e-5), rel=1e-4)
    t = torch.tensor([1e-3, 0.5, 1.0], dtype=torch.float64)
    np.testing.assert_allclose(marginal_std(t).numpy(), [marginal_std(float(v)) for v in t])
    sizes = langevin_step_sizes(SCHEDULES["full"])
    assert len(sizes) == 120 and SCHEDULES["full"].evaluations == 240
    assert sizes[-1] == pytest.approx(1e-3) and sizes[0] == pytest.approx(1e-3 * marginal_std(1 + 1e-3) ** 2
                                                                          / marginal_std(1e-3) ** 2)
    assert all(a >= b for a, b in zip(sizes, sizes[1:])), "annealed: the step shrinks"


def _perturbed_energy(mean: torch.Tensor, s: float):
    """The energy a perfect DSM model learns for data ``N_G(μ, s²I)``: ``−log N_G(H; μ, (s² + σ(t)²) I)``."""
    return lambda h, t: -lie_gaussian_log_prob(h, mean.expand_as(h), torch.sqrt(s ** 2 + marginal_std(t) ** 2))


@pytest.mark.parametrize("tangent", ["chart", "left"])
def test_default_schedule_ends_at_the_mean(tangent):
    """SE(3)-DiF's schedule on the perturbed density of a narrow Gaussian (s = 2 cm / rad): from anywhere,
    the samples end at its mean, inside its spread (the noise-free steps sharpen it)."""
    mean, s = _mean_pose(), 0.02
    schedule = LangevinSchedule(tangent=tangent)
    out = langevin_sample(_perturbed_energy(mean, s), _start(64, 0), schedule, torch.Generator().manual_seed(1))
    err = _relative(out, mean)
    np.testing.assert_allclose(err.mean(0).numpy(), 0.0, atol=0.01)
    assert err.norm(dim=-1).max() < 3 * s


def test_plain_langevin_recovers_mean_and_spread():
    """With noise scale 1 and no noise-free steps, the samples follow N_G(μ, s²I): mean μ, spread s per axis."""
    mean, s = _mean_pose(), 0.15
    schedule = LangevinSchedule(annealed_steps=300, fit_steps=0, inner_steps=1, alpha=2e-4, noise_scale=1.0,
                                tangent="left")
    out = langevin_sample(_gaussian_energy(mean, s), _start(2000, 2), schedule, torch.Generator().manual_seed(4))
    err = _relative(out, mean)
    np.testing.assert_allclose(err.mean(0).numpy(), 0.0, atol=0.02)
    np.testing.assert_allclose(err.std(0).numpy(), s, rtol=0.12)


def test_the_noise_scale_narrows_the_spread():
    """ν = 0.5 samples exp(−E/ν²): half the spread of ν = 1 (the reference's choice sharpens the density)."""
    mean, s = _mean_pose(), 0.2
    spreads = []
    for nu in (1.0, 0.5):
        schedule = LangevinSchedule(annealed_steps=300, fit_steps=0, inner_steps=1, alpha=2e-4, noise_scale=nu,
                                    tangent="left")
        out = langevin_sample(_gaussian_energy(mean, s), _start(1500, 5), schedule, torch.Generator().manual_seed(6))
        spreads.append(float(_relative(out, mean).std(0).mean()))
    assert spreads[1] / spreads[0] == pytest.approx(0.5, rel=0.15)


def test_record_and_seeds():
    mean = _mean_pose()
    energy, h0 = _gaussian_energy(mean, 0.3), _start(5, 0)
    schedule = SCHEDULES["fast"]
    path = langevin_sample(energy, h0, schedule, torch.Generator().manual_seed(0), record=True)
    assert path.shape == (schedule.steps + 1, 5, 4, 4)
    torch.testing.assert_close(path[0], h0)
    torch.testing.assert_close(path[-1], langevin_sample(energy, h0, schedule, torch.Generator().manual_seed(0)))
    other = langevin_sample(energy, h0, schedule, torch.Generator().manual_seed(1), record=True)
    assert (path[5] - other[5]).abs().max() > 1e-3, "another seed, other noise"
    rot = path[..., :3, :3]
    eye = torch.eye(3, dtype=rot.dtype).expand_as(rot)
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), eye, atol=1e-6, rtol=0)


def test_bad_input():
    with pytest.raises(ValueError, match="B, 4, 4"):
        langevin_sample(lambda h, t: h.sum((-1, -2)), torch.eye(4))
    with pytest.raises(ValueError, match="inner_steps"):
        LangevinSchedule(inner_steps=0)
    with pytest.raises(ValueError, match="tangent"):
        LangevinSchedule(tangent="right")
