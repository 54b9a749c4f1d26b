"""Configuration of the VGN planner (inference; the network itself has no options)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

from igd.errors import IGDError
from igd.planners.postprocess import PostprocessConfig

__all__ = ["VGNConfig"]

_PROTOCOLS = ("giga", "vgn")  # names of postprocess.PRESETS
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


@dataclass
class VGNConfig:
    """How VGN's output volumes become grasps (see ``planners/vgn/README.md``)."""

    protocol: Literal["giga", "vgn"] = "giga"
    """Post-processing preset: 'giga' (threshold 0.5, bounded workspace, best first; the benchmark's
    common protocol) or 'vgn' (VGN's own: threshold 0.9, one random detection)."""
    threshold: Optional[float] = None
    """Quality threshold in [0, 1] replacing the protocol's (None: the protocol's own)."""
    force: bool = False
    """Keep the single best grasp when none passes the threshold."""
    seed: int = 0
    """Seed of the random draw of the 'vgn' protocol (the same seed and inputs give the same picks)."""
    device: str = "cpu"
    """Torch device of the network: 'cpu', 'cuda', 'cuda:N' or 'mps'."""

    def __post_init__(self):
        if self.protocol not in _PROTOCOLS:
            raise IGDError(f"VGNConfig.protocol must be one of {list(_PROTOCOLS)}, got {self.protocol!r}")
        if self.threshold is not None and (
                isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float))
                or not 0.0 <= self.threshold <= 1.0):
            raise IGDError(f"VGNConfig.threshold must be None or a number in [0, 1], got {self.threshold!r}")
        if not isinstance(self.force, bool):
            raise IGDError(f"VGNConfig.force must be a bool, got {self.force!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise IGDError(f"VGNConfig.seed must be a non-negative int, got {self.seed!r}")
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise IGDError(f"VGNConfig.device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")

    def postprocess(self) -> PostprocessConfig:
        """The post-processing settings: the protocol's preset with this config's overrides."""
        overrides = {"force": self.force}
        if self.threshold is not None:
            overrides["threshold"] = float(self.threshold)
        return PostprocessConfig.preset(self.protocol, **overrides)

