"""Tiny planners for the tests, in one place: a small config of every registered planner and a seeded build.

- :data:`TINY`: per planner, the config fields of a small network (seconds on the CPU); a planner
  registered without an entry fails ``tests/planners/test_contract.py``.
- :func:`tiny_planner`: that config, weights drawn from a fixed seed; :func:`tiny_set` the same as
  ``--set KEY=VALUE`` arguments of ``igd train``.
- :func:`detecting_planner`: a tiny planner that detects grasps on the box grid of
  ``tests/planners/planner_scenes.py``. Random weights alone detect nothing there: the quality hovers
  around 0.5 (VGN's and GIGA's threshold), VGN's widths round to 0 m and IGD's affordance and classifier
  scores are low, so every voxel is rejected. :data:`DETECTING` shifts the output biases of the heads
  (quality up, width into the accepted range) and leaves every other weight random, so the real
  ``plan()`` path (network, gate, sampler, masks, non-maximum suppression, sort) runs on outputs
  that vary from voxel to voxel and keeps several grasps of distinct scores.
- :func:`learned_planners`: the registered planners that have weights (``Planner.learned``).
"""

from __future__ import annotations

from typing import Callable, Dict

from igd.constants import SIZE, VOXEL_SIZE
from igd.planners.base import Planner, build_config, registry

#: Config fields of a small network per planner (VGN's network has no size fields: 313k parameters).
TINY: Dict[str, dict] = {
    "topdown": {},
    "vgn": {},
    "giga": {"features": 4, "unet_filters": 4, "hidden": 8, "blocks": 1, "unet_depth": 2},
    "igd": {"features": 4, "unet_filters": 4, "hidden": 8, "blocks": 1, "unet_depth": 2, "denoiser_hidden": 16,
            "denoiser_blocks": 1, "neg_rounds": 2},
    "se3dif": {"features": 4, "unet_filters": 4, "unet_depth": 2, "points": 8, "point_hidden": 8, "point_features": 2,
               "hidden": 8, "time_dim": 4, "occ_hidden": 8, "occ_blocks": 1, "qual_hidden": 8, "samples": 24,
               "schedule": "fast", "noise_scale": 0.05},
    "dgrasp": {"features": 4, "unet_filters": 4, "hidden": 16, "unet_depth": 2, "gripper_points": 8, "point_hidden": 8,
               "occ_hidden": 8, "occ_blocks": 1, "initial_poses": 64, "position_steps": 3, "rotation_steps": 3,
               "negatives": 16, "aux_path_poses": 2, "aux_near_poses": 2},
}


def learned_planners() -> list[str]:
    """The registered planners with weights, sorted (``[n for n, c in registry().items() if c.learned]``)."""
    return sorted(n for n, c in registry().items() if c.learned)


def tiny_fields(name: str) -> dict:
    """:data:`TINY`'s entry for ``name``; a KeyError that says where to add one."""
    if name not in TINY:
        raise KeyError(f"planner {name!r} has no tiny configuration: add it to TINY in tests/tiny_planners.py")
    return dict(TINY[name])


def tiny_config(name: str, **extra):
    """The config of planner ``name`` with :data:`TINY`'s fields and ``extra``."""
    cls = registry()[name]
    return build_config(cls.config_class, {}, {**tiny_fields(name), **extra})


def tiny_planner(name: str, seed: int = 0, **extra) -> Planner:
    """Planner ``name`` of :func:`tiny_config`, its weights drawn from ``seed`` (torch's global generator is
    left as it was)."""
    import torch

    cls = registry()[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(tiny_config(name, **extra))


def tiny_set(name: str) -> list[str]:
    """:data:`TINY`'s fields of ``name`` as ``igd train`` arguments: ``["--set", "features=4", ...]``."""
    return [a for k, v in tiny_fields(name).items() for a in ("--set", f"{k}={v}")]


def _shift_bias(layer, by: float) -> None:
    import torch

    with torch.no_grad():
        layer.bias += by


#: Width the shifted width heads predict on average, metres (the post-processing keeps 9.9 to 69.9 mm).
_WIDTH = 0.045

#: Per learned planner: how its tiny network is made to detect grasps on the box grid (see the module
#: docstring). Logit shifts: +2 puts VGN's and GIGA's quality near 0.88 (threshold 0.5); IGD's q = a · v
#: needs both the affordance and the classifier's score high. Width shifts are in each head's unit:
#: VGN's voxels, GIGA's and IGD's workspace units (metres / 0.3) from their random mean (their medians
#: near the box's surface are about 0.082 m and 0.025 m) to about ``_WIDTH``.
DETECTING: Dict[str, Callable[[object], None]] = {
    "vgn": lambda net: (_shift_bias(net.conv_qual, 2.0), _shift_bias(net.conv_width, _WIDTH / VOXEL_SIZE)),
    "giga": lambda net: (_shift_bias(net.decoder_qual.fc_out, 2.0),
                         _shift_bias(net.decoder_width.fc_out, (_WIDTH - 0.082) / SIZE)),
    "igd": lambda net: (_shift_bias(net.decoder_aff.fc_out, 3.0), _shift_bias(net.decoder_grasp.fc_out, 3.0),
                        _shift_bias(net.decoder_width.fc_out, (_WIDTH - 0.025) / SIZE)),
    # SE(3)-DiF keeps every Langevin sample that ends in the workspace (threshold 0): random weights detect.
    "se3dif": lambda net: None,
    # dGrasp keeps every pose its ascent ends on (threshold 0) with the full opening: random weights detect.
    "dgrasp": lambda net: None,
}


def detecting_planner(name: str, seed: int = 0, **extra) -> Planner:
    """:func:`tiny_planner` that detects grasps on the box grid: a learned planner's heads shifted by
    :data:`DETECTING` (a KeyError names a learned planner without an entry); others as they are."""
    planner = tiny_planner(name, seed, **extra)
    if planner.learned:
        if name not in DETECTING:
            raise KeyError(f"learned planner {name!r} has no entry in DETECTING (tests/tiny_planners.py): say how "
                           "its tiny network is made to detect grasps on the box grid")
        DETECTING[name](planner.training_module())
    return planner
