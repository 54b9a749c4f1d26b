"""Configuration of the GIGA planner: the network's sizes and how its output becomes grasps."""

from __future__ import annotations

from dataclasses import dataclass

from igd.configs import check_int
from igd.planners.common.config import ImplicitConfig

__all__ = ["GIGAConfig"]

_SIZES = (("features", 1, 1024), ("hidden", 1, 4096), ("blocks", 1, 64), ("unet_depth", 1, 4),
          ("unet_filters", 1, 1024))  # name, lower, upper


@dataclass
class GIGAConfig(ImplicitConfig):
    """GIGA (see ``planners/giga/README.md``). Defaults are the paper's network and GIGA's protocol; the
    post-processing, device and inference fields are :class:`~igd.planners.common.config.ImplicitConfig`'s."""

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

    def __post_init__(self):
        super().__post_init__()
        for name, lo, hi in _SIZES:
            check_int(self, name, lo, hi)

    def model_kwargs(self) -> dict:
        """Keyword arguments of :class:`~igd.planners.giga.model.GIGANet`."""
        return dict(features=self.features, hidden=self.hidden, blocks=self.blocks,
                    unet_depth=self.unet_depth, unet_filters=self.unet_filters, plane_mapping=self.plane_mapping)
