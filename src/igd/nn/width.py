"""The unit of the width head of GIGA and IGD, and the conversion of checkpoints written in the old one.

GIGA and IGD regress the gripper's opening width in **workspace units**, the width divided by the
workspace's side: ``w = width_m / 0.3`` (GIGA's and IGD's reference code: the dataset stores
``width / size``, detection returns ``width * size``). The post-processing keeps widths in
``[0.033, 0.233]`` of this unit, 1.0–7.0 cm, and the loss weighs ``(ŵ − w)²`` by 0.01 in this unit.
(VGN keeps its own voxel units, ``width_m / 0.0075``.)

=======================  ====================================================================
name                     meaning
=======================  ====================================================================
:data:`WIDTH_UNIT`       ``"workspace"``: the unit of today's checkpoints (their config's ``width_unit``)
:data:`WIDTH_SCALE`      metres per unit, 0.3
:data:`VOXEL_TO_WORKSPACE`  0.0075 / 0.3 = 1/40: a voxel-unit width times this is the same width
                         in workspace units
:func:`convert_width_head`  rescale the last linear layer of a width head (exact up to float rounding)
:func:`upgrade_width_unit`  an igd checkpoint payload without ``width_unit``, converted
=======================  ====================================================================

Checkpoints of GIGA and IGD written before the change predicted voxel units (``width_m / 0.0075``).
Their width head ends in one linear layer, ``ŵ = W h + b``, so multiplying ``W`` and ``b`` by 1/40
gives the same width in the new unit: the same grasps, up to float32 rounding of the products.
"""

from __future__ import annotations

from typing import Dict

import torch

from igd.constants import SIZE, VOXEL_SIZE

__all__ = ["LEGACY_WIDTH_UNIT", "VOXEL_TO_WORKSPACE", "WIDTH_HEAD", "WIDTH_SCALE", "WIDTH_UNIT",
           "convert_width_head", "upgrade_width_unit"]

WIDTH_UNIT = "workspace"
#: The unit of checkpoints written before ``width_unit`` existed (metres / 0.0075).
LEGACY_WIDTH_UNIT = "voxel"
WIDTH_SCALE = SIZE
VOXEL_TO_WORKSPACE = VOXEL_SIZE / SIZE
#: The output layer of the width head in GIGANet's and IGDNet's state dicts.
WIDTH_HEAD = "decoder_width.fc_out"


def convert_width_head(state: Dict[str, torch.Tensor], factor: float = VOXEL_TO_WORKSPACE,
                       head: str = WIDTH_HEAD) -> Dict[str, torch.Tensor]:
    """A copy of ``state`` with ``{head}.weight`` and ``{head}.bias`` multiplied by ``factor``.

    The product is taken in float64 and rounded once to the tensor's dtype. ``KeyError`` if the
    state dict has no such layer.
    """
    out = dict(state)
    for name in (f"{head}.weight", f"{head}.bias"):
        tensor = state[name]
        out[name] = (tensor.double() * factor).to(tensor.dtype)
    return out


def upgrade_width_unit(payload: dict) -> dict:
    """An igd checkpoint payload of GIGA or IGD in today's width unit.

    A payload whose config records ``width_unit`` is returned as it is; one without it was written
    in voxel units: its width head is rescaled (:func:`convert_width_head`) and its config gets
    ``width_unit = "workspace"``. The input is not modified. (A state dict without the width head is
    left alone: loading it reports the missing keys.)
    """
    if "width_unit" in payload["config"]:
        return payload
    state = payload["state_dict"]
    if isinstance(state, dict) and all(f"{WIDTH_HEAD}.{p}" in state for p in ("weight", "bias")):
        state = convert_width_head(state)
    return {**payload, "config": {**payload["config"], "width_unit": WIDTH_UNIT}, "state_dict": state}
