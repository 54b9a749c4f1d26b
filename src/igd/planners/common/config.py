"""The config fields, and their checks, that the learned planners share.

=========================  ===============================================================================
class                      fields
=========================  ===============================================================================
:class:`PlannerConfig`     ``threshold``, ``force`` (the post-processing's), ``device`` — VGN, GIGA, IGD
:class:`ImplicitConfig`    + ``chunk_size``, ``precision``, ``plane_mapping``, ``width_unit`` — the planners
                           that query a tri-plane network at points (GIGA, IGD)
=========================  ===============================================================================

A planner's config derives from one of them and adds its own fields after these; its
``__post_init__`` calls ``super().__post_init__()`` and checks its own with :mod:`igd.configs`. The
messages name the concrete config: ``GIGAConfig.device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got 'gpu'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from igd.configs import check_bool, check_choice, check_int, check_number
from igd.constants import RESOLUTION
from igd.errors import IGDError
from igd.planners.postprocess import PostprocessConfig

__all__ = ["DEVICE_PATTERN", "ImplicitConfig", "PLANE_MAPPINGS", "PRECISIONS", "PlannerConfig", "WIDTH_UNITS"]

#: Torch devices a config may name.
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")
PRECISIONS = ("float32", "bfloat16")
PLANE_MAPPINGS = ("ours", "reference")  # igd.nn.triplane.PLANE_MAPPINGS (not imported: it imports torch)
WIDTH_UNITS = ("workspace",)  # igd.nn.width.WIDTH_UNIT


@dataclass
class PlannerConfig:
    """What every learned planner's config has: the post-processing's threshold and force, the torch device."""

    threshold: float = 0.5
    """Quality threshold of the post-processing, in [0, 1] (GIGA's protocol: 0.5)."""
    force: bool = False
    """Keep the single best grasp when none passes the threshold."""
    device: str = "cpu"
    """Torch device of the network: 'cpu', 'cuda', 'cuda:N' or 'mps'."""

    #: Whether ``threshold`` may be None, meaning the post-processing preset's own (a subclass that allows it
    #: redeclares the field as ``Optional[float]``, as VGN's does).
    threshold_may_be_none: ClassVar[bool] = False

    def __post_init__(self):
        check_number(self, "threshold", 0, 1, optional=self.threshold_may_be_none)
        check_bool(self, "force")
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device):
            raise IGDError(f"{type(self).__name__}.device must be 'cpu', 'cuda', 'cuda:N' or 'mps', "
                           f"got {self.device!r}")

    @property
    def postprocess_preset(self) -> str:
        """The :data:`~igd.planners.postprocess.PRESETS` entry :meth:`postprocess` starts from ('giga')."""
        return "giga"

    def postprocess(self) -> PostprocessConfig:
        """The post-processing settings: :attr:`postprocess_preset` with this config's force and threshold
        (when it is not None)."""
        overrides = {"force": self.force}
        if self.threshold is not None:
            overrides["threshold"] = float(self.threshold)
        return PostprocessConfig.preset(self.postprocess_preset, **overrides)


@dataclass
class ImplicitConfig(PlannerConfig):
    """:class:`PlannerConfig` and what a planner querying a tri-plane network at points adds (GIGA, IGD)."""

    chunk_size: int = 16384
    """Query points per forward pass at inference (of the 40³ = 64,000 of the dense heads; IGD: also per
    sampler run): bounds memory."""
    precision: Literal["float32", "bfloat16"] = "float32"
    """Arithmetic of inference: 'bfloat16' autocasts the networks (faster on recent CPUs, less exact; IGD's
    sampler state stays float32)."""
    plane_mapping: Literal["ours", "reference"] = "ours"
    """Where a point is read on the feature planes (c(p); IGD: also its DAMs' sample points and its gripper's
    control points): 'ours' (voxel centres on cell centres, pooling and sampling agree) or 'reference'
    (GIGA's code: what the GIGA authors' weights were trained with); see ``igd/nn/triplane.py``. A
    property of the weights: keep the one they were trained with."""
    width_unit: Literal["workspace"] = "workspace"
    """Unit of the width head: 'workspace' = metres / 0.3 (GIGA's). Recorded in checkpoints; one without it
    predates this field (voxel units, metres / 0.0075) and is converted when loaded."""

    def __post_init__(self):
        super().__post_init__()
        check_int(self, "chunk_size", 1, RESOLUTION ** 3)
        for name, allowed in (("precision", PRECISIONS), ("plane_mapping", PLANE_MAPPINGS),
                              ("width_unit", WIDTH_UNITS)):
            check_choice(self, name, allowed)
