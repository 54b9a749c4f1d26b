"""The dGrasp planner: gradient ascent on the learned grasp value Ψ(p | o) from many random initial poses.

Weights: igd checkpoints (``save_pretrained``, ``igd train --planner dgrasp``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from igd.constants import MAX_OPENING
from igd.errors import IGDError
from igd.planners.base import Grasps, Observation, TorchPlanner
from igd.planners.dgrasp.config import DGraspConfig

__all__ = ["DGraspPlanner"]


class DGraspPlanner(TorchPlanner):
    """dGrasp (Sóti, Huang, Wurll, Hein, 2024): an implicit grasp policy.

    ``plan(observation)`` encodes the grid once, draws ``initial_poses`` poses near the observed surface,
    climbs Ψ by Adam (``ascent``: sequential or synchronous; :mod:`~igd.planners.dgrasp.policy`), and
    returns the poses it ends on inside the valid grasp volume, after a non-maximum suppression on the
    position, best Ψ first: scores ``exp(Ψ − max Ψ)`` over the poses of this plan (the softmax of the
    training loss relative to its best pose: 1 for the best, a monotone map of Ψ, not a calibrated
    probability of success), widths the hand's full opening, 0.08 m (the hand is opened fully anyway).
    """

    name = "dgrasp"
    config_class = DGraspConfig
    learned = True
    scene_batched_training = True
    training_needs_occupancy = True
    #: From GIGA (``igd train --init``): the tri-plane encoder and the occupancy head, by name and shape; the
    #: pose-space heads start fresh (docs/training.md, "Measured: IGD by transfer").
    transfer_renames = {"giga": {}}

    def __init__(self, config: DGraspConfig | None = None):
        super().__init__(config)
        from igd.planners.dgrasp.model import DGraspNet

        self.net = DGraspNet(**self.config.model_kwargs()).to(self.device).eval()
        self.seed = 0

    def reseed(self, seed: int) -> None:
        """Use ``seed`` for the initial poses of the following plans (a generator started afresh at every plan)."""
        self.seed = int(seed)

    # ---- the ascent ----
    def _generator(self, seed: int):
        import torch

        return torch.Generator(device=self.device).manual_seed(int(seed))

    def _autocast(self):
        import torch

        if self.config.precision == "bfloat16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _ascend(self, grid: np.ndarray, n: int, seed: int, keep_path: bool):
        """The ascent from ``n`` initial poses drawn from ``seed``: (Ascent over all chunks, or None when
        nothing near a surface was observed)."""
        import torch

        from igd.planners.dgrasp.policy import Ascent, ascend, initial_poses

        cfg = self.config
        x = self.grid_tensor(grid)  # checks the shape
        p0 = initial_poses(x[0, 0].cpu().numpy(), n, cfg.rotation, self._generator(seed))
        if p0 is None:
            return None
        with torch.no_grad():
            planes = self.net.encode(x)

        def value(p):
            with self._autocast():
                return self.net.value(planes, p[None])[0]

        parts = [ascend(value, chunk, cfg.rotation, cfg.ascent, cfg.position_steps, cfg.rotation_steps,
                        cfg.n_synchronous_steps, cfg.position_lr, cfg.rotation_lr, keep_path)
                 for chunk in p0.split(cfg.chunk_size)]
        path = [torch.cat(step) for step in zip(*(a.path for a in parts))] if keep_path else None
        return Ascent(torch.cat([a.p for a in parts]), torch.cat([a.psi for a in parts]), path)

    def plan(self, observation: Observation) -> Grasps:
        """Grasps for ``observation``, best first (see the class docstring)."""
        from igd.planners.dgrasp import poses
        from igd.planners.dgrasp.policy import select

        cfg = self.config
        ascent = self._ascend(observation.grid, cfg.initial_poses, self.seed, keep_path=False)
        if ascent is None:
            return Grasps.empty(reason="nothing observed near a surface")
        h = poses.to_matrices(ascent.p.double(), cfg.rotation).cpu().numpy()
        psi = ascent.psi.double().cpu().numpy()
        scores = np.exp(psi - psi.max())  # the softmax over the final poses, divided by its maximum
        kept = select(h, psi, cfg.max_grasps, cfg.nms_distance)
        above = scores[kept] >= cfg.threshold
        forced = bool(cfg.force and len(kept) and not above.any())
        kept = kept[:1] if forced else kept[above]
        return Grasps(h[kept], np.full(len(kept), MAX_OPENING), scores[kept],
                      {"forced": forced, "psi_max": float(psi.max())})

    def pose_trajectories(self, grid: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
        """The ascent paths of ``n`` initial poses drawn from ``seed``: ``(steps + 1, n, 4, 4)`` TCP poses, metres
        (``(steps + 1, 0, 4, 4)`` when nothing near a surface was observed)."""
        from igd.planners.dgrasp import poses

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise IGDError(f"dgrasp: pose_trajectories wants n >= 1 paths, got {n!r}")
        ascent = self._ascend(grid, int(n), seed, keep_path=True)
        cfg = self.config
        if ascent is None:
            steps = (cfg.position_steps + cfg.rotation_steps if cfg.ascent == "sequential"
                     else cfg.n_synchronous_steps)
            return np.zeros((steps + 1, 0, 4, 4))
        return np.stack([poses.to_matrices(p.double(), cfg.rotation).cpu().numpy() for p in ascent.path])
