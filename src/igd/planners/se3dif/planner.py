"""The SE(3)-DiF planner: Langevin chains on the learned energy, seeded near the observed surface, ranked.

``plan(observation)``: encode the grid once; start ``samples`` chains at surface voxels (plus Gaussian
noise of ``seed_noise`` per axis) with uniform rotations; run annealed Langevin dynamics
(:func:`igd.lie.langevin_sample`, schedule ``full`` or ``fast``) on ``E(H, σ(t))``; drop poses outside
the volume where the dense planners may place a grasp (2 voxels from the x/y faces, above the bottom 7
layers) and those whose fingertips reach below the table top; rank the rest by energy or by the
quality head (``ranking``); optionally refine the best with the grasp-and-motion optimiser
(``refine='motion'``, :mod:`igd.planners.se3dif.motion`). Widths: the hand opens fully before every
grasp (docs/simulator.md), so every grasp carries the maximum opening, 0.08 m.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from igd.constants import (
    FINGER_DEPTH,
    MAX_OPENING,
    RESOLUTION,
    SIZE,
    TABLE_HEIGHT,
    VALID_LOWER,
    VALID_UPPER,
    VOXEL_SIZE,
)
from igd.errors import IGDError
from igd.planners.base import Grasps, Observation, TorchPlanner
from igd.planners.se3dif.config import SE3DiFConfig

__all__ = ["SE3DiFPlanner", "keep_in_workspace"]

#: The post-processing's zeroed borders (docs/planners.md, "Post-processing"): voxels at the x/y faces and
#: the bottom layers where no dense planner places a grasp.
BORDER_XY, BORDER_Z = 2, 7


def keep_in_workspace(poses: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: TCP poses ``(N, 4, 4)`` (metres) inside the post-processing's borders whose fingertips
    stay above the table top."""
    t = poses[:, :3, 3]
    lo = np.array([BORDER_XY, BORDER_XY, BORDER_Z]) * VOXEL_SIZE
    hi = np.array([RESOLUTION - BORDER_XY, RESOLUTION - BORDER_XY, RESOLUTION]) * VOXEL_SIZE
    tips = t + FINGER_DEPTH * poses[:, :3, 2]
    return np.all((t >= lo) & (t <= np.minimum(hi, SIZE)), axis=1) & (tips[:, 2] >= TABLE_HEIGHT)


class SE3DiFPlanner(TorchPlanner):
    """SE(3)-DiffusionFields (Urain et al., ICRA 2023) on tri-plane scene features (``se3dif/README.md``).

    Each ``plan()`` draws from a generator reset to ``config.seed`` (:meth:`reseed` changes it), so the
    same seed gives the same grasps whatever was planned before.
    """

    name = "se3dif"
    config_class = SE3DiFConfig
    learned = True
    scene_batched_training = True
    training_needs_occupancy = True
    #: From GIGA (``igd train --init``): the tri-plane encoder and the occupancy head, by name and shape; the
    #: pose-space heads start fresh (docs/training.md, "Measured: IGD by transfer").
    transfer_renames = {"giga": {}}

    def __init__(self, config: SE3DiFConfig | None = None):
        super().__init__(config)
        from igd.lie import SCHEDULES
        from igd.planners.se3dif.model import SE3DiFNet

        self.net = SE3DiFNet(**self.config.model_kwargs()).to(self.device).eval()
        self.schedule = dataclasses.replace(SCHEDULES[self.config.schedule], noise_scale=float(self.config.noise_scale))
        self.seed = int(self.config.seed)

    def reseed(self, seed: int) -> None:
        """Draw the chains of the following plans from ``seed`` (each plan() resets its generator to it)."""
        self.seed = int(seed)

    # ---- the energy ----
    def encode(self, grid: np.ndarray):
        """The planes ``(1, 3, C, 40, 40)`` of one grid (no gradient)."""
        import torch

        with torch.no_grad():
            return self.net.encode(self.grid_tensor(grid))

    def energy_fn(self, planes, sigma: Optional[float] = None):
        """``energy(H (B, 4, 4) metres, t (B,)) -> (B,)`` on ``planes``; with ``sigma`` fixed at that noise level
        (``t`` ignored), else at σ(t)."""
        from igd.lie import marginal_std

        def energy(h, t=None):
            s = marginal_std(t) if sigma is None else torch_full(h, sigma)
            return self.net.energy(planes, h[None], s[None])[0]

        return energy

    def _net_energy(self, planes):
        """The sampler's energy: poses in network units (translation × 8)."""
        from igd.planners.se3dif.loss import from_net

        energy = self.energy_fn(planes)
        return lambda h, t: energy(from_net(h), t)

    # ---- sampling ----
    def seeds(self, grid: np.ndarray, n: int, generator, anywhere: bool = False):
        """``n`` start poses ``(n, 4, 4)`` (metres): surface voxels of ``grid`` plus noise, uniform rotations; None
        when nothing is observed (with ``anywhere``: uniform in the valid volume instead)."""
        import torch

        from igd.lie import make_pose, random_rotations
        from igd.planners.postprocess import surface_mask

        mask = surface_mask(grid)
        mask[:BORDER_XY], mask[-BORDER_XY:], mask[:, :BORDER_XY], mask[:, -BORDER_XY:], mask[..., :BORDER_Z] = (False,) * 5
        index = torch.as_tensor(np.argwhere(mask), dtype=torch.float32)
        rot = random_rotations(n, generator)
        if len(index) == 0:
            if not anywhere:
                return None
            lo, hi = torch.as_tensor(VALID_LOWER, dtype=torch.float32), torch.as_tensor(VALID_UPPER, dtype=torch.float32)
            return make_pose(rot, lo + (hi - lo) * torch.rand(n, 3, generator=generator)).to(self.device)
        pick = torch.randint(len(index), (n,), generator=generator)
        t = index[pick] * VOXEL_SIZE + self.config.seed_noise * torch.randn(n, 3, generator=generator)
        return make_pose(rot, t).to(self.device)

    def sample(self, planes, h0, generator, record: bool = False):
        """Langevin chains from ``h0 (n, 4, 4)`` (metres) → final poses ``(n, 4, 4)`` or, with ``record``, every step
        ``(steps + 1, n, 4, 4)``; chains in chunks of ``chunk_size``."""
        import torch

        from igd.lie import langevin_sample
        from igd.planners.se3dif.loss import from_net, to_net

        energy = self._net_energy(planes)
        out = []
        with self._autocast():
            for chunk in to_net(h0).split(self.config.chunk_size):
                out.append(langevin_sample(energy, chunk, self.schedule, generator, record=record))
        return from_net(torch.cat(out, dim=-3))

    def score(self, planes, poses):
        """Scores ``(N,)`` in [0, 1] and energies ``(N,)`` at ``poses (N, 4, 4)`` (metres): ``ranking='quality'``
        the quality head's sigmoid, ``'energy'`` ``exp(E_min − E)`` at the smallest noise level."""
        import torch

        energy = self.energy_fn(planes, sigma=self._sigma_min())
        with torch.no_grad(), self._autocast():
            e = torch.cat([energy(h) for h in poses.split(self.config.chunk_size)]).float()
            if self.config.ranking == "quality":
                q = torch.cat([self.net.quality_logit(planes, h[None])[0] for h in poses.split(self.config.chunk_size)])
                return torch.sigmoid(q.float()), e
        return torch.exp(e.min() - e) if len(e) else e, e

    def _sigma_min(self) -> float:
        from igd.lie import marginal_std

        return marginal_std(self.schedule.eps)

    def _autocast(self):
        import contextlib

        import torch

        if self.config.precision == "bfloat16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _generator(self, seed: int):
        import torch

        return torch.Generator().manual_seed(int(seed))

    # ---- the contract ----
    def plan(self, observation: Observation) -> Grasps:
        """Grasps for ``observation``, best first (module docstring)."""
        grid = observation.grid
        generator = self._generator(self.seed)
        h0 = self.seeds(grid, self.config.samples, generator)
        if h0 is None:
            return Grasps.empty(samples=0)
        planes = self.encode(grid)
        poses = self.sample(planes, h0, generator)
        keep = keep_in_workspace(poses.cpu().double().numpy())
        poses = poses[keep]
        if not len(poses):
            return Grasps.empty(samples=int(len(h0)), kept=0)
        scores, energies = self.score(planes, poses)
        grasps = self._select(poses, scores, energies)
        grasps.info.update(samples=int(len(h0)), kept=int(keep.sum()))
        if self.config.refine == "motion" and len(grasps):
            grasps = self._refine(grid, planes, grasps)
        return grasps

    def _select(self, poses, scores, energies) -> Grasps:
        """The threshold, ``force`` and ``max_grasps`` on the ranked samples."""
        import torch

        poses = poses.detach().cpu().double()
        scores, energies = scores.detach().cpu().double(), energies.detach().cpu().double()
        if len(poses):
            poses = _orthonormal(poses)
        keep = scores >= self.config.threshold
        forced = bool(self.config.force and not keep.any() and len(scores))
        if forced:
            keep = scores == scores.max()
        order = torch.argsort(-scores[keep], stable=True)[: self.config.max_grasps]
        n = len(order)
        info = {"energies": energies[keep][order].tolist()}
        if forced:
            info["forced"] = True
        return Grasps(poses[keep][order].numpy(), np.full(n, MAX_OPENING), scores[keep][order].numpy(), info)

    def _refine(self, grid, planes, grasps: Grasps) -> Grasps:
        """The best grasp optimised with its approach path (:func:`~igd.planners.se3dif.motion.refine_grasp`),
        put first with the best score; the path in ``info['motion_waypoints']`` (a ``(W, 4, 4)`` nested list)."""
        from igd.planners.se3dif.motion import MotionConfig, refine_grasp

        config = MotionConfig(waypoints=self.config.motion_waypoints, iterations=self.config.motion_iterations)
        result = refine_grasp(self.energy_fn(planes, sigma=self._sigma_min()), grid, grasps.poses[0], config)
        if not keep_in_workspace(result.grasp[None])[0]:
            grasps.info["motion"] = "refined grasp left the workspace: kept the sampled one"
            return grasps
        info = dict(grasps.info, motion_waypoints=result.waypoints.tolist(), motion_costs=result.costs)
        return Grasps(np.concatenate([result.grasp[None], grasps.poses]), np.concatenate([[MAX_OPENING], grasps.widths]),
                      np.concatenate([grasps.scores[:1], grasps.scores]), info)

    def pose_trajectories(self, grid: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
        """The Langevin chains of ``n`` samples, every step: ``(steps + 1, n, 4, 4)`` TCP poses (metres, workspace
        frame), starts and noise from ``seed`` (surface seeds; uniform in the valid volume if nothing is seen)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise IGDError(f"se3dif: pose_trajectories needs n >= 1 samples, got {n!r}")
        generator = self._generator(seed)
        h0 = self.seeds(grid, int(n), generator, anywhere=True)
        path = self.sample(self.encode(grid), h0, generator, record=True)
        return _orthonormal(path.detach().cpu().double()).numpy()


def torch_full(h, value: float):
    """``(B,)`` filled with ``value``, like ``h``'s batch."""
    import torch

    return torch.full(h.shape[:1], float(value), dtype=h.dtype, device=h.device)


def _orthonormal(poses):
    """Poses ``(..., 4, 4)`` (float64) with their rotations projected back onto SO(3) (SVD; float32 drift)."""
    import torch

    u, _, vt = torch.linalg.svd(poses[..., :3, :3])
    d = torch.sign(torch.det(u @ vt))
    u = torch.cat([u[..., :2], u[..., 2:] * d[..., None, None]], dim=-1)
    out = poses.clone()
    out[..., :3, :3] = u @ vt
    out[..., 3, :] = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=poses.dtype)
    return out
