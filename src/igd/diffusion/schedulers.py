"""Thin wrappers around `diffusers`' schedulers for Euclidean diffusion (IGD, src/igd/planners/igd/README.md).

Forward process (Ho et al., NeurIPS 2020, eq. 4), the same for every kind here::

    x_t = sqrt(ᾱ_t) · x_0 + sqrt(1 − ᾱ_t) · ε,     ε ~ N(0, I),   ᾱ_t = Π_{s ≤ t} (1 − β_s)

with ``T = 100`` and ``β`` linear from 1e-4 to 0.02 (so ``ᾱ_T ≈ 0.36``: the terminal state is not pure
noise, a fact of the paper's schedule that sampling from ``N(0, I)`` ignores, as the reference does).
Every reverse step first recovers ``x̂_0 = (x_t − sqrt(1 − ᾱ_t) ε̂) / sqrt(ᾱ_t)`` (eq. 15), clips it to
``[−1, 1]``, then moves to the previous noise level: DDPM by the posterior ``q(x_{t−1} | x_t, x̂_0)``
plus noise (eq. 6–7), DDIM deterministically (η = 0, Song et al. 2021, eq. 12), DPM-Solver++ by a
second-order multistep update on ``x̂_0`` (Lu et al. 2022).

==============  ===========  ================================================================
code            paper        meaning
==============  ===========  ================================================================
x0              x_0          a clean sample, (..., D)
noise           ε            standard normal noise, same shape as x0
timesteps       t            integer noise levels 0 … T − 1 (diffusers counts β_1 as t = 0)
alphas_cumprod  ᾱ_t          (T,) cumulative products of 1 − β
eps             ε_θ(x_t, t)  the network's noise prediction
==============  ===========  ================================================================

Choices (same forward process for all kinds, so one trained network serves each sampler):

- ``timestep_spacing="trailing"``: a K-step sampler starts at ``t = T − 1`` (where training put the
  noisiest samples) and ends at a small t; diffusers' default "leading" would start DDIM-10 at
  ``t = 90`` from a state drawn as if it were ``t = 99``. For DDPM with 100 steps both are the same.
- DDIM: ``set_alpha_to_one=True``, so its last step returns the clipped ``x̂_0``, as DDPM's does.
- DPM-Solver has no ``clip_sample``; its dynamic thresholding with ``sample_max_value = 1`` clamps the
  threshold ``s`` to exactly 1, i.e. clips ``x̂_0`` to ``[−1, 1]``: the same clipping as the others.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

from igd.diffusion import BETA_END, BETA_START, DEFAULT_STEPS, NUM_TRAIN_TIMESTEPS, SCHEDULER_KINDS
from igd.errors import IGDError

__all__ = ["EuclideanScheduler", "make_scheduler", "scheduler_config"]

_CLASSES = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler, "dpm": DPMSolverMultistepScheduler}

#: ``eps_fn(x_t (N, D), t (0-dim long tensor)) -> ε̂ (N, D)``: the network inside :meth:`EuclideanScheduler.sample`.
EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def scheduler_config(kind: str) -> dict:
    """The diffusers constructor arguments of ``kind`` (one of :data:`~igd.diffusion.SCHEDULER_KINDS`)."""
    _check_kind(kind)
    config = dict(num_train_timesteps=NUM_TRAIN_TIMESTEPS, beta_start=BETA_START, beta_end=BETA_END,
                  beta_schedule="linear", prediction_type="epsilon", timestep_spacing="trailing")
    if kind == "ddpm":
        config.update(clip_sample=True, clip_sample_range=1.0, variance_type="fixed_small")
    elif kind == "ddim":
        config.update(clip_sample=True, clip_sample_range=1.0, set_alpha_to_one=True)
    else:  # dpm: thresholding with s clamped to [1, 1] is clipping to [-1, 1] (module docstring)
        config.update(algorithm_type="dpmsolver++", solver_order=2, thresholding=True, sample_max_value=1.0,
                      final_sigmas_type="zero")
    return config


def _check_kind(kind: str) -> None:
    if kind not in SCHEDULER_KINDS:
        raise IGDError(f"unknown sampler {kind!r}: expected one of {list(SCHEDULER_KINDS)}")


class EuclideanScheduler:
    """One diffusers scheduler of ``kind`` with ``steps`` sampling steps (the diffusers shape, for any leading dims).

    Args:
        kind: 'ddpm' (the paper), 'ddim' or 'dpm' (the fast samplers).
        steps: reverse steps of :meth:`sample`, 1 … 100 (None: :data:`~igd.diffusion.DEFAULT_STEPS`).
    """

    def __init__(self, kind: str = "ddpm", steps: Optional[int] = None):
        _check_kind(kind)
        steps = DEFAULT_STEPS[kind] if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= NUM_TRAIN_TIMESTEPS:
            raise IGDError(f"sampler steps must be an int in [1, {NUM_TRAIN_TIMESTEPS}], got {steps!r}")
        self.kind, self.steps = kind, steps
        self.inner = _CLASSES[kind](**scheduler_config(kind))
        self.inner.set_timesteps(steps)

    def __repr__(self) -> str:
        return f"EuclideanScheduler(kind={self.kind!r}, steps={self.steps})"

    @property
    def num_train_timesteps(self) -> int:
        """T = 100."""
        return int(self.inner.config.num_train_timesteps)

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """ᾱ_t, (T,) float32."""
        return self.inner.alphas_cumprod

    @property
    def betas(self) -> torch.Tensor:
        """β_t, (T,) float32."""
        return self.inner.betas

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """``x_t = sqrt(ᾱ_t) x0 + sqrt(1 − ᾱ_t) ε``: ``x0, noise (..., D)``, ``timesteps (...)`` int → ``(..., D)``."""
        if noise.shape != x0.shape or tuple(timesteps.shape) != tuple(x0.shape[:-1]):
            raise IGDError(f"add_noise: x0 {tuple(x0.shape)}, noise {tuple(noise.shape)} and timesteps "
                           f"{tuple(timesteps.shape)} must be (..., D), (..., D) and (...)")
        d = x0.shape[-1]
        flat = self.inner.add_noise(x0.reshape(-1, d), noise.reshape(-1, d), timesteps.reshape(-1))
        return flat.reshape(x0.shape)

    def set_timesteps(self, device=None) -> torch.Tensor:
        """Reset the scheduler for a new sampling run; the ``steps`` timesteps, noisiest first."""
        self.inner.set_timesteps(self.steps, device=device)
        return self.inner.timesteps

    def step(self, eps: torch.Tensor, t: torch.Tensor, x: torch.Tensor,
             generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """One reverse step ``x_t → x_{t'}`` (``t'`` the next timestep): ``eps, x (N, D)`` → ``(N, D)``.

        DDPM draws its step noise from ``generator``. Tensors go to diffusers as ``(N, D, 1)``: its
        thresholding wants a ``(batch, channels, ...)`` layout.
        """
        out = self.inner.step(eps.unsqueeze(-1), t, x.unsqueeze(-1), generator=generator)
        return out.prev_sample.squeeze(-1)

    def sample(self, eps_fn: EpsFn, shape: Sequence[int], generator: Optional[torch.Generator] = None,
               device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Run the reverse process from ``x_T ~ N(0, I)`` of ``shape (N, D)``; the final ``x_0 (N, D)``.

        All randomness (the start and DDPM's step noise) comes from ``generator``.
        """
        x = torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
        for t in self.set_timesteps(device):
            x = self.step(eps_fn(x, t).to(dtype), t, x, generator)
        return x


def make_scheduler(kind: str = "ddpm", steps: Optional[int] = None) -> EuclideanScheduler:
    """A scheduler of ``kind`` ('ddpm' | 'ddim' | 'dpm') with ``steps`` reverse steps (None: 100 / 10 / 10)."""
    return EuclideanScheduler(kind, steps)
