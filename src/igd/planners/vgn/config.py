"""Configuration of the VGN planner (inference; the network itself has no options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Optional

from igd.configs import check_choice, check_int
from igd.planners.common.config import PlannerConfig

__all__ = ["VGNConfig"]

_PROTOCOLS = ("giga", "vgn")  # names of postprocess.PRESETS


@dataclass
class VGNConfig(PlannerConfig):
    """How VGN's output volumes become grasps (see ``planners/vgn/README.md``); ``force`` and ``device``
    as in :class:`~igd.planners.common.config.PlannerConfig`."""

    threshold: Optional[float] = None
    """Quality threshold in [0, 1] replacing the protocol's (None: the protocol's own)."""
    protocol: Literal["giga", "vgn"] = "giga"
    """Post-processing preset: 'giga' (threshold 0.5, bounded workspace, best first; the benchmark's
    common protocol) or 'vgn' (VGN's own: threshold 0.9, one random detection)."""
    seed: int = 0
    """Seed of the random draw of the 'vgn' protocol (the same seed and inputs give the same picks)."""

    threshold_may_be_none: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "protocol", _PROTOCOLS)
        check_int(self, "seed", 0)

    @property
    def postprocess_preset(self) -> str:
        """The protocol's preset."""
        return self.protocol
