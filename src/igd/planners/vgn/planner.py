"""The VGN planner: the released network (or ours) + the shared post-processing."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping, Tuple

import numpy as np

from igd.constants import VOXEL_SIZE
from igd.errors import IGDError
from igd.planners import postprocess
from igd.planners.base import (
                               Grasps,
                               Observation,
                               TorchPlanner,
                               build_config,
                               foreign_weights_error,
                               is_tensor_dict,
                               state_dict_owner,
)
from igd.planners.vgn.config import VGNConfig

__all__ = ["VGNPlanner"]


class VGNPlanner(TorchPlanner):
    """Volumetric Grasping Network (Breyer et al., CoRL 2020).

    ``plan(observation)`` runs :class:`~igd.planners.vgn.model.VGNNet` on the grid and turns its
    volumes into grasps with :func:`igd.planners.postprocess.detect` under ``config.protocol``.
    """

    name = "vgn"
    config_class = VGNConfig
    learned = True
    scene_batched_training = True  # dense output: the K grasps of a scene share one forward pass

    def __init__(self, config: VGNConfig | None = None):
        super().__init__(config)
        from igd.planners.vgn.model import VGNNet

        self.net = VGNNet().to(self.device).eval()
        self.postprocess = self.config.postprocess()
        self.rng = np.random.default_rng(self.config.seed)

    def reseed(self, seed: int) -> None:
        """A new generator from ``seed`` for the random detection of the 'vgn' protocol (unused by 'giga')."""
        self.rng = np.random.default_rng(seed)

    # ---- inference ----
    def predict(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Network volumes for one grid.

        grid: (1, 40, 40, 40) or (40, 40, 40) encoded TSDF. Returns numpy ``qual (40, 40, 40)``,
        ``rot (4, 40, 40, 40)`` unit quaternions (x, y, z, w) and ``width (40, 40, 40)`` in metres.
        """
        x = self.grid_tensor(grid)
        with self.inference():
            qual, rot, width = self.net(x)
        return qual[0].cpu().numpy(), rot[0].cpu().numpy(), width[0].cpu().numpy() * VOXEL_SIZE

    def volumes(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The volumes of :meth:`predict` (quality, quaternions, widths in metres); points read the nearest voxel."""
        return self.predict(grid)

    def plan(self, observation: Observation) -> Grasps:
        """Grasps for ``observation``, best first (one random detection under the 'vgn' protocol)."""
        qual, rot, width = self.predict(observation.grid)
        return postprocess.detect(observation.grid, qual, rot, width, self.postprocess, self.rng)

    # ---- weights ----
    @classmethod
    def recognises_state_dict(cls, state: Mapping) -> bool:
        """VGN's released state dicts (``vgn_conv.pth``, GIGA's authors' retrained VGN): exactly VGNNet's keys."""
        return set(state) == _vgn_keys()

    @classmethod
    def from_raw_weights(cls, payload: Any, path: str | Path, **overrides) -> "VGNPlanner":
        """VGN's released state dict (``vgn_conv.pth``, or the VGN that GIGA's authors retrained: the same
        layout and units); igd checkpoints come through :meth:`from_checkpoint`.

        ``overrides`` replace config fields (e.g. ``protocol="vgn"``). A file that is no state dict or
        another planner's released state dict raises :class:`IGDError` (naming what the file is when it can).
        """
        if not is_tensor_dict(payload):
            raise IGDError(f"{path}: neither an igd checkpoint nor a VGN state dict (a dict of tensors), "
                           f"got {type(payload).__name__}")
        if state_dict_owner(payload) not in (None, cls.name):  # e.g. GIGA's authors' file
            raise foreign_weights_error(path, payload, cls, "igd checkpoints and VGN's released state dicts")
        planner = cls(build_config(cls.config_class, {}, overrides))
        try:
            planner.load_state_dict(payload)
        except IGDError as e:
            raise IGDError(f"{path}: {e}") from e
        return planner


@functools.lru_cache(maxsize=1)
def _vgn_keys() -> frozenset:
    from igd.planners.vgn.model import VGNNet

    return frozenset(VGNNet().state_dict())
