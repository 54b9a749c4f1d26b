"""Diffusion schedules for the generative planners (src/igd/planners/igd/README.md).

Euclidean diffusion (IGD's Grasp Orientation Diffuser) runs on `diffusers`' schedulers, wrapped in
:mod:`igd.diffusion.schedulers` (the diffusers shape: ``set_timesteps``, ``step``, ``add_noise``):

==========  ===========================  =========================================================
kind        diffusers class              what
==========  ===========================  =========================================================
``ddpm``    ``DDPMScheduler``            the paper's ancestral sampler, 100 steps by default
``ddim``    ``DDIMScheduler``            deterministic (η = 0), 10 steps by default (the fast one)
``dpm``     ``DPMSolverMultistepScheduler``  DPM-Solver++ (2nd order), 10 steps by default
==========  ===========================  =========================================================

All three share one forward process: ``T = 100``, linear β from 1e-4 to 0.02, ε-prediction,
predicted ``x0`` clipped to ``[-1, 1]`` (IGD's README), so a network trained once serves each.

The constants below are importable without torch; the scheduler classes are imported on first use
(``from igd.diffusion import make_scheduler`` imports torch and diffusers then).
"""

from __future__ import annotations

from typing import Dict, Tuple

#: Sampler kinds accepted by :func:`make_scheduler`.
SCHEDULER_KINDS: Tuple[str, ...] = ("ddpm", "ddim", "dpm")
#: Steps of each kind when none are given: the paper's 100 for DDPM, 10 for the fast samplers.
DEFAULT_STEPS: Dict[str, int] = {"ddpm": 100, "ddim": 10, "dpm": 10}
#: The forward process (IGD's paper): T, β_1, β_T.
NUM_TRAIN_TIMESTEPS = 100
BETA_START = 1e-4
BETA_END = 0.02

_LAZY = ("EuclideanScheduler", "make_scheduler", "scheduler_config")

__all__ = ["BETA_END", "BETA_START", "DEFAULT_STEPS", "NUM_TRAIN_TIMESTEPS", "SCHEDULER_KINDS", "EuclideanScheduler",
           "make_scheduler", "scheduler_config"]


def __getattr__(name: str):
    if name in _LAZY:
        from igd.diffusion import schedulers

        return getattr(schedulers, name)
    raise AttributeError(f"module 'igd.diffusion' has no attribute {name!r}")
