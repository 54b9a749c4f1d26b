"""The VGN planner: the released network (or ours) + the shared post-processing."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Mapping, Tuple

import numpy as np

from igd.constants import RESOLUTION, VOXEL_SIZE
from igd.errors import IGDError
from igd.planners import postprocess
from igd.planners.base import (
                               CHECKPOINT_FORMAT,
                               Grasps,
                               Observation,
                               TorchPlanner,
                               build_config,
                               foreign_weights_error,
                               is_tensor_dict,
                               load_torch_file,
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
        import torch

        from igd.planners.vgn.model import VGNNet

        self.device = torch.device(self.config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise IGDError(f"VGNConfig.device is {self.config.device!r} but this torch build sees no CUDA GPU; use 'cpu'")
        self.net = VGNNet().to(self.device).eval()
        self.postprocess = self.config.postprocess()
        self.rng = np.random.default_rng(self.config.seed)

    # ---- inference ----
    def predict(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Network volumes for one grid.

        grid: (1, 40, 40, 40) or (40, 40, 40) encoded TSDF. Returns numpy ``qual (40, 40, 40)``,
        ``rot (4, 40, 40, 40)`` unit quaternions (x, y, z, w) and ``width (40, 40, 40)`` in metres.
        """
        import torch

        grid = np.asarray(grid, dtype=np.float32)
        if grid.size != RESOLUTION ** 3:
            raise IGDError(f"vgn: grid must have shape (1, 40, 40, 40) or (40, 40, 40), got {grid.shape}")
        x = torch.tensor(grid.reshape((1, 1) + (RESOLUTION,) * 3), device=self.device)  # a copy: grid may be read-only
        with torch.no_grad():
            qual, rot, width = self.net(x)
        return qual[0].cpu().numpy(), rot[0].cpu().numpy(), width[0].cpu().numpy() * VOXEL_SIZE

    def volumes(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The volumes of :meth:`predict` (quality, quaternions, widths in metres); points read the nearest voxel."""
        return self.predict(grid)

    def plan(self, observation: Observation) -> Grasps:
        """Grasps for ``observation``, best first (one random detection under the 'vgn' protocol)."""
        tic = time.perf_counter()
        qual, rot, width = self.predict(observation.grid)
        grasps = postprocess.detect(observation.grid, qual, rot, width, self.postprocess, self.rng)
        grasps.info["planning_time"] = time.perf_counter() - tic
        return grasps

    # ---- weights ----
    @classmethod
    def recognises_state_dict(cls, state: Mapping) -> bool:
        """VGN's released state dicts (``vgn_conv.pth``, GIGA's authors' retrained VGN): exactly VGNNet's keys."""
        return set(state) == _vgn_keys()

    @classmethod
    def from_weights(cls, path: str | Path, **overrides) -> "VGNPlanner":
        """An igd checkpoint (:meth:`save_pretrained`) or VGN's released state dict (``vgn_conv.pth``, or the
        VGN that GIGA's authors retrained: the same layout and units).

        ``overrides`` replace config fields (e.g. ``protocol="vgn"``). A missing or truncated file, a
        file that is no state dict, another planner's released state dict or checkpoint raises
        :class:`IGDError` (naming what the file is when it can).
        """
        payload = load_torch_file(path)
        if isinstance(payload, dict) and "format" in payload:
            if payload["format"] != CHECKPOINT_FORMAT:
                raise IGDError(f"{path}: unknown checkpoint format {payload['format']!r}, expected '{CHECKPOINT_FORMAT}'")
            return cls.from_pretrained(path, **overrides)
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
