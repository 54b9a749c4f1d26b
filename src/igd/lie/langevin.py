"""Annealed Langevin dynamics on SE(3), for any energy ``E(H, t)`` over poses (SE(3)-DiF's sampler).

Urain, Funk, Peters, Chalvatzaki, *SE(3)-DiffusionFields*, ICRA 2023, Sec. IV-C (and the reference
``Grasp_AnnealedLD``). A pose is moved in the product chart SO(3) × R³ (:func:`igd.lie.exp_so3r3`):

    x = Log(H) = (t, ω),  g = ∇_x E(Exp(x), t_k)
    δ = −(c_k / 2) · g + sqrt(c_k) · ν · ξ,   ξ ~ N(0, I₆)
    H ← [Exp(δ_ω) · R,  t + δ_t]                           (rotation updated by left multiplication)
    c_k = α · σ(t_k)² / σ(ε)²,   t_k = (K − k)/K + ε        (annealed: K steps from t ≈ 1 down to 1/K + ε)

then ``fit_steps`` more steps at ``t = ε`` without noise, each outer step made of ``inner_steps`` updates.

==============  ========  =================================================================
code            paper     meaning
==============  ========  =================================================================
t (phase)       k         noise time in (0, 1]; the energy is told it (``energy(H, t)``)
marginal_std    σ(t)      ``sqrt((0.5^(2t) − 1) / (2 ln 0.5))``, the noise of the training loss
alpha           α         base step size (1e-3)
eps             ε         smallest noise time (1e-3)
noise_scale     ν         scale of the injected noise (0.5: the reference's)
step            c_k       step size of step k
==============  ========  =================================================================

The energy is a callable ``energy(H (B, 4, 4), t (B,)) -> (B,)``; it must be differentiable in ``H``.
Units are the caller's: SE(3)-DiF passes poses with translations in its network units (metres × 8).
Every random draw comes from an explicit :class:`torch.Generator`. ``tangent="chart"`` (the reference)
takes the gradient in the chart coordinates ``x``; ``tangent="left"`` takes it with respect to the
left perturbation that the update applies (the Riemannian gradient), which samples the density
``exp(−E / ν²)`` exactly in the small-step limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Literal, Optional, Tuple

import torch

from igd.lie.se3 import exp_so3r3, log_so3r3, make_pose, so3_exp

__all__ = ["LangevinSchedule", "SCHEDULES", "langevin_sample", "langevin_step_sizes", "marginal_std"]

Energy = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def marginal_std(t, sigma: float = 0.5):
    """σ(t) = sqrt((σ₀^(2t) − 1) / (2 ln σ₀)) with σ₀ = ``sigma`` (0.5): the noise scale at time ``t`` in (0, 1]
    (a float or a tensor). σ(1) ≈ 0.736, σ(1e-3) ≈ 0.0316, σ(t) ≈ sqrt(t) for small t."""
    if isinstance(t, torch.Tensor):
        return torch.sqrt((sigma ** (2 * t) - 1.0) / (2 * math.log(sigma)))
    return math.sqrt((sigma ** (2 * t) - 1.0) / (2 * math.log(sigma)))


@dataclass(frozen=True)
class LangevinSchedule:
    """The steps of :func:`langevin_sample`; the defaults are SE(3)-DiF's (240 energy gradients)."""

    annealed_steps: int = 70
    """K: steps with noise, the noise time going from 1 + ε down to 1/K + ε."""
    fit_steps: int = 50
    """Noise-free steps at the end, at time ε."""
    inner_steps: int = 2
    """Updates per step (only the pose after the last one is recorded)."""
    alpha: float = 1e-3
    """α: the step size at time ε."""
    eps: float = 1e-3
    """ε: the smallest noise time."""
    noise_scale: float = 0.5
    """ν: scale of the injected noise (1: plain Langevin dynamics of exp(−E))."""
    tangent: Literal["chart", "left"] = "chart"
    """Where the gradient is taken: 'chart' (∇ in the log coordinates, the reference) or 'left' (the left
    perturbation the update applies)."""

    def __post_init__(self):
        for name in ("annealed_steps", "fit_steps", "inner_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"LangevinSchedule.{name} must be an int >= 0, got {value!r}")
        if self.inner_steps < 1 or self.annealed_steps + self.fit_steps < 1:
            raise ValueError("LangevinSchedule needs inner_steps >= 1 and at least one step")
        for name in ("alpha", "eps", "noise_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"LangevinSchedule.{name} must be a finite number >= 0, got {value!r}")
        if not 0 < self.eps <= 1:
            raise ValueError(f"LangevinSchedule.eps must be in (0, 1], got {self.eps!r}")
        if self.tangent not in ("chart", "left"):
            raise ValueError(f"LangevinSchedule.tangent must be 'chart' or 'left', got {self.tangent!r}")

    @property
    def steps(self) -> int:
        """Recorded steps: ``annealed_steps + fit_steps``."""
        return self.annealed_steps + self.fit_steps

    @property
    def evaluations(self) -> int:
        """Energy gradients per sample: ``steps · inner_steps``."""
        return self.steps * self.inner_steps

    def times(self) -> Tuple[list, list]:
        """Per step: the noise time ``t_k`` and whether noise is injected."""
        k = self.annealed_steps
        times = [(k - i) / k + self.eps for i in range(k)] + [self.eps] * self.fit_steps
        return times, [True] * k + [False] * self.fit_steps


#: Named schedules: ``full`` (SE(3)-DiF's: 70 + 50 steps, 2 inner, 240 gradients) and ``fast`` (20 + 10
#: steps, 1 inner, 30 gradients; α raised so the noise-free steps still converge).
SCHEDULES: Dict[str, LangevinSchedule] = {
    "full": LangevinSchedule(),
    "fast": LangevinSchedule(annealed_steps=20, fit_steps=10, inner_steps=1, alpha=4e-3),
}


def langevin_step_sizes(schedule: LangevinSchedule) -> list:
    """``c_k = α · σ(t_k)² / σ(ε)²`` of every step."""
    ref = marginal_std(schedule.eps) ** 2
    return [schedule.alpha * marginal_std(t) ** 2 / ref for t in schedule.times()[0]]


def _gradient(energy: Energy, h: torch.Tensor, t: torch.Tensor, tangent: str) -> torch.Tensor:
    """``∇E (B, 6)`` at ``h`` in the (translation, rotation) order of the update."""
    with torch.enable_grad():
        if tangent == "chart":
            x = log_so3r3(h).detach().requires_grad_(True)
            e = energy(exp_so3r3(x), t)
            return torch.autograd.grad(e.sum(), x)[0]
        d = torch.zeros(h.shape[:-2] + (6,), dtype=h.dtype, device=h.device, requires_grad=True)
        e = energy(_left_update(h.detach(), d), t)
        return torch.autograd.grad(e.sum(), d)[0]


def _left_update(h: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``[Exp(δ_ω) R, t + δ_t]``: the update of a pose ``h (B, 4, 4)`` by ``delta (B, 6)``."""
    return make_pose(so3_exp(delta[..., 3:]) @ h[..., :3, :3], h[..., :3, 3] + delta[..., :3])


def langevin_sample(energy: Energy, h0: torch.Tensor, schedule: LangevinSchedule = SCHEDULES["full"],
                    generator: Optional[torch.Generator] = None, record: bool = False):
    """Run annealed Langevin dynamics from the poses ``h0 (B, 4, 4)`` under ``energy(H, t) -> (B,)``.

    Returns the final poses ``(B, 4, 4)``, or with ``record`` every step ``(steps + 1, B, 4, 4)`` (the start
    first). The noise comes from ``generator`` (None: torch's global one). No gradient flows out.
    """
    if h0.dim() != 3 or tuple(h0.shape[1:]) != (4, 4):
        raise ValueError(f"langevin_sample: h0 must have shape (B, 4, 4), got {tuple(h0.shape)}")
    h = h0.detach().clone()
    path = [h] if record else None
    sizes = langevin_step_sizes(schedule)
    times, noisy = schedule.times()
    for t_k, c_k, with_noise in zip(times, sizes, noisy):
        t = torch.full(h.shape[:1], t_k, dtype=h.dtype, device=h.device)
        for _ in range(schedule.inner_steps):
            delta = -0.5 * c_k * _gradient(energy, h, t, schedule.tangent)
            if with_noise and schedule.noise_scale > 0:
                xi = torch.randn(delta.shape, generator=generator, dtype=h.dtype, device=h.device)
                delta = delta + math.sqrt(c_k) * schedule.noise_scale * xi
            h = _left_update(h, delta.detach()).detach()
        if record:
            path.append(h)
    return torch.stack(path) if record else h

