"""The GIGA planner: query the implicit grasp heads at every voxel, then the shared post-processing.

Weights: igd checkpoints (``save_pretrained``, ``igd train``; those written before the width unit was
recorded are converted on load, :mod:`igd.nn.width`) and the GIGA authors' own state dicts
(``giga_packed.pt``, ``giga_pile.pt``), renamed on load (:data:`REFERENCE_NAMES`) and run with the
reference's plane mapping.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import numpy as np

from igd.constants import RESOLUTION
from igd.errors import IGDError
from igd.planners import postprocess
from igd.planners.base import (
                               Grasps,
                               Observation,
                               PointPrediction,
                               TorchPlanner,
                               build_config,
                               foreign_weights_error,
                               is_tensor_dict,
)
from igd.planners.common.queries import query_points
from igd.planners.giga.config import GIGAConfig

__all__ = ["GIGAPlanner", "REFERENCE_NAMES", "from_reference_names"]

#: Key prefixes of the GIGA authors' state dicts (ConvONet's names) → ours; every other key is the same.
REFERENCE_NAMES = (("encoder.unet.down_convs.", "encoder.unet.down."),
                   ("encoder.unet.up_convs.", "encoder.unet.up."),
                   ("decoder_tsdf.", "decoder_occ."))
_AUTHORS = "igd checkpoints and the GIGA authors' state dicts (giga_packed.pt, giga_pile.pt)"


def from_reference_names(state: Mapping) -> Dict:
    """``state`` with the authors' key prefixes (:data:`REFERENCE_NAMES`) renamed to ours; tensors unchanged."""
    renamed = {}
    for key, value in state.items():
        for theirs, ours in REFERENCE_NAMES:
            if key.startswith(theirs):
                key = ours + key[len(theirs):]
                break
        renamed[key] = value
    return renamed


@functools.lru_cache(maxsize=1)
def _giga_keys() -> frozenset:
    from igd.planners.giga.model import GIGANet

    return frozenset(GIGANet().state_dict())


class GIGAPlanner(TorchPlanner):
    """Grasp detection via Implicit Geometry and Affordance (Jiang et al., RSS 2021).

    ``plan(observation)`` encodes the grid once, evaluates the quality, rotation and width heads of
    :class:`~igd.planners.giga.model.GIGANet` at the 40³ voxel positions (in chunks of
    ``config.chunk_size``) and hands the volumes to :func:`igd.planners.postprocess.detect` with the
    'giga' preset. Weights: igd checkpoints and the authors' state dicts (:meth:`from_weights`).
    """

    name = "giga"
    config_class = GIGAConfig
    learned = True
    scene_batched_training = True
    training_needs_occupancy = True

    def __init__(self, config: GIGAConfig | None = None):
        super().__init__(config)
        from igd.planners.giga.model import GIGANet

        self.net = GIGANet(**self.config.model_kwargs()).to(self.device).eval()
        self.postprocess = self.config.postprocess()
        self._points = query_points(self.device)

    def reseed(self, seed: int) -> None:
        """Nothing to do: GIGA makes no random choices (its grasps are the best local maxima)."""

    # ---- inference ----
    def predict(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Network volumes for one grid.

        grid: (1, 40, 40, 40) or (40, 40, 40) encoded TSDF. Returns numpy ``qual (40, 40, 40)`` in
        [0, 1], ``rot (4, 40, 40, 40)`` unit quaternions (x, y, z, w) and ``width (40, 40, 40)`` in metres
        (the head's workspace units × 0.3).
        """
        import torch

        from igd.nn.width import WIDTH_SCALE

        x = self.grid_tensor(grid)
        quals, rots, widths = [], [], []
        with self.inference():
            planes = self.net.encode(x)
            for points in self._points.split(self.config.chunk_size, dim=1):
                qual_logit, rot, width = self.net.grasp_heads(planes, points)
                quals.append(torch.sigmoid(qual_logit.float()))
                rots.append(rot.float())
                widths.append(width.float())
        shape = (RESOLUTION,) * 3
        qual = torch.cat(quals, dim=1).reshape(shape)
        rot = torch.cat(rots, dim=1).reshape(shape + (4,)).permute(3, 0, 1, 2)
        width = torch.cat(widths, dim=1).reshape(shape) * WIDTH_SCALE
        return qual.cpu().numpy(), rot.cpu().numpy(), width.cpu().numpy()

    def volumes(self, grid: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The volumes of :meth:`predict` (quality, quaternions, widths in metres)."""
        return self.predict(grid)

    def query_points(self, grid: np.ndarray, positions: np.ndarray, quats=None) -> PointPrediction:
        """The grasp heads at ``positions (N, 3)`` (metres, workspace frame): quality, unit quaternions
        (x, y, z, w) and widths (metres). ``quats`` is unused (GIGA's quality does not read an orientation)."""
        import torch

        from igd.nn import normalise
        from igd.nn.width import WIDTH_SCALE

        x = self.grid_tensor(grid)
        p = normalise(torch.as_tensor(np.asarray(positions, dtype=np.float32).reshape(1, -1, 3), device=self.device))
        quals, rots, widths = [], [], []
        with self.inference():
            planes = self.net.encode(x)
            for chunk in p.split(self.config.chunk_size, dim=1):
                qual_logit, rot, width = self.net.grasp_heads(planes, chunk)
                quals.append(torch.sigmoid(qual_logit.float())[0])
                rots.append(rot.float()[0])
                widths.append(width.float()[0] * WIDTH_SCALE)
        if not quals:
            return PointPrediction(np.zeros(0), np.zeros((0, 4)), np.zeros(0))
        return PointPrediction(*(torch.cat(v).cpu().numpy() for v in (quals, rots, widths)))

    def plan(self, observation: Observation) -> Grasps:
        """Grasps for ``observation``, best first."""
        qual, rot, width = self.predict(observation.grid)
        return postprocess.detect(observation.grid, qual, rot, width, self.postprocess)

    # ---- weights ----
    @classmethod
    def upgrade_checkpoint(cls, payload: dict) -> dict:
        """A checkpoint without ``width_unit`` (voxel units) gets its width head rescaled (:mod:`igd.nn.width`)."""
        from igd.nn.width import upgrade_width_unit

        return upgrade_width_unit(payload)

    @classmethod
    def recognises_state_dict(cls, state: Mapping) -> bool:
        """The GIGA authors' state dicts: in ConvONet's names, and GIGANet's keys once renamed."""
        renamed = from_reference_names(state)
        return set(renamed) != set(state) and set(renamed) == _giga_keys()

    @classmethod
    def from_raw_weights(cls, payload: Any, path: str | Path, **overrides) -> "GIGAPlanner":
        """One of the GIGA authors' raw state dicts, loaded as it is (igd checkpoints come through
        :meth:`from_checkpoint`).

        The authors' files load with ``plane_mapping="reference"`` (the mapping their weights were
        trained with) and GIGA's width unit (theirs); other fields are the defaults (GIGA's protocol).
        ``overrides`` replace config fields. Another planner's file or a state dict whose keys map onto
        nothing here raises a one-line :class:`IGDError`.
        """
        if not (is_tensor_dict(payload) and cls.recognises_state_dict(payload)):
            raise foreign_weights_error(path, payload, cls, _AUTHORS)
        planner = cls(build_config(cls.config_class, {"plane_mapping": "reference"}, overrides))
        try:
            planner.load_state_dict(from_reference_names(payload))
        except IGDError as e:  # the keys fit but not the shapes, or a config override changed the sizes
            raise IGDError(f"{path}: {e}") from e
        return planner
