"""Configuration of the GIGA planner: the network's sizes and how its output becomes grasps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from igd.constants import RESOLUTION
from igd.errors import IGDError
from igd.planners.postprocess import PostprocessConfig

__all__ = ["GIGAConfig"]

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")
_PRECISIONS = ("float32", "bfloat16")
_MAPPINGS = ("ours", "reference")  # igd.nn.triplane.PLANE_MAPPINGS (not imported: it imports torch)
_UNITS = ("workspace",)  # igd.nn.width.WIDTH_UNIT


@dataclass
class GIGAConfig:
    """GIGA (see ``planners/giga/README.md``). Defaults are the paper's network and GIGA's protocol."""

    features: int = 32
    """Channels C of each feature plane (the point feature c(p) has 3·C)."""
    hidden: int = 32
    """Width h of the four implicit decoders (quality, rotation, width, occupancy)."""
    blocks: int = 5
    """Residual blocks per decoder."""
    unet_depth: int = 3
    """Levels of the plane U-Net (1 to 4: the 40-cell plane must halve evenly depth − 1 times)."""
    unet_filters: int = 32
    """Channels of the U-Net's first level (doubled per level)."""
    plane_mapping: Literal["ours", "reference"] = "ours"
    """Where a point is read on the feature planes: 'ours' (voxel centres on cell centres, pooling and
    sampling agree) or 'reference' (GIGA's code: what the authors' weights were trained with); see
    ``igd/nn/triplane.py``. A property of the weights: keep the one they were trained with."""
    width_unit: Literal["workspace"] = "workspace"
    """Unit of the width head: 'workspace' = metres / 0.3 (GIGA's). Recorded in checkpoints; one
    without it predates this field (voxel units, metres / 0.0075) and is converted when loaded."""
    threshold: float = 0.5
    """Quality threshold of the post-processing, in [0, 1] (GIGA's protocol: 0.5)."""
    force: bool = False
    """Keep the single best grasp when none passes the threshold."""
    chunk_size: int = 16384
    """Query points per forward pass of the heads at inference (bounds memory; 64,000 points in all)."""
    precision: Literal["float32", "bfloat16"] = "float32"
    """Arithmetic of inference: 'bfloat16' autocasts the network (faster on recent CPUs, less exact)."""
    device: str = "cpu"
    """Torch device of the network: 'cpu', 'cuda', 'cuda:N' or 'mps'."""

    def __post_init__(self):
        for name, lo, hi in (("features", 1, 1024), ("hidden", 1, 4096), ("blocks", 1, 64),
                             ("unet_depth", 1, 4), ("unet_filters", 1, 1024), ("chunk_size", 1, RESOLUTION ** 3)):
            _check_int(name, getattr(self, name), lo, hi)
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not 0.0 <= self.threshold <= 1.0:
            raise IGDError(f"GIGAConfig.threshold must be a number in [0, 1], got {self.threshold!r}")
        if not isinstance(self.force, bool):
            raise IGDError(f"GIGAConfig.force must be a bool, got {self.force!r}")
        for name, allowed in (("precision", _PRECISIONS), ("plane_mapping", _MAPPINGS), ("width_unit", _UNITS)):
            if getattr(self, name) not in allowed:
                raise IGDError(f"GIGAConfig.{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise IGDError(f"GIGAConfig.device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")

    def model_kwargs(self) -> dict:
        """Keyword arguments of :class:`~igd.planners.giga.model.GIGANet`."""
        return dict(features=self.features, hidden=self.hidden, blocks=self.blocks,
                    unet_depth=self.unet_depth, unet_filters=self.unet_filters, plane_mapping=self.plane_mapping)

    def postprocess(self) -> PostprocessConfig:
        """The post-processing settings: the 'giga' preset with this config's threshold and force."""
        return PostprocessConfig.preset("giga", threshold=float(self.threshold), force=self.force)


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise IGDError(f"GIGAConfig.{name} must be an int in [{lo}, {hi}], got {value!r}")
