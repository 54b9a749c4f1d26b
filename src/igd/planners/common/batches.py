"""The checked training batch of the implicit planners (GIGA, IGD): grasps plus occupancy points.

A batch holds either one grasp per item (``pos (B, 3)``) or K grasps of each scene (``pos (S, K, 3)``,
the scene-batched mode, which encodes every grid once); :func:`as_scene_batch` checks it and gives
the per-grasp form a grasp axis of length 1, so a loss only deals with ``(S, K, ...)``.
"""

from __future__ import annotations

from typing import Dict

import torch

from igd import batch_keys as keys
from igd.errors import IGDError
from igd.nn import check_grid

REQUIRED_KEYS = (keys.GRID, keys.POS, keys.QUAT, keys.WIDTH, keys.LABEL, keys.OCC_POINTS, keys.OCC)


def as_scene_batch(batch: Dict[str, torch.Tensor], owner: str) -> Dict[str, torch.Tensor]:
    """Check ``batch`` (IGDError on missing keys, shapes, NaN; ``owner`` names the planner) and return
    float tensors with grasp tensors shaped ``(S, K, ...)``: grid (S, 1, 40, 40, 40), pos (S, K, 3),
    quat (S, K, 4), width (S, K), label (S, K), occ_points (S, P, 3), occ (S, P)."""
    missing = [k for k in REQUIRED_KEYS if k not in batch]
    if missing:
        raise IGDError(f"{owner} batch lacks key(s) {missing}; expected {list(REQUIRED_KEYS)} "
                       f"({owner} needs occupancy: build the dataset with occ_points > 0)")
    pos = batch[keys.POS]
    if pos.dim() not in (2, 3) or pos.shape[-1] != 3:
        raise IGDError(f"{owner} batch: pos must be (B, 3) or (S, K, 3) metres, got {tuple(pos.shape)}")
    lead = tuple(pos.shape[:-1])
    grid = check_grid(batch[keys.GRID])
    occ = batch[keys.OCC]
    if grid.shape[0] != lead[0]:
        raise IGDError(f"{owner} batch: grid must be ({lead[0]}, 1, 40, 40, 40) to go with pos {tuple(pos.shape)}, "
                       f"got {tuple(batch[keys.GRID].shape)}")
    if occ.dim() != 2 or occ.shape[0] != lead[0]:
        raise IGDError(f"{owner} batch: occ must be ({lead[0]}, P) to go with pos {tuple(pos.shape)}, "
                       f"got {tuple(occ.shape)}")
    expected = {keys.QUAT: lead + (4,), keys.WIDTH: lead, keys.LABEL: lead, keys.OCC_POINTS: tuple(occ.shape) + (3,)}
    for name, shape in expected.items():
        if tuple(batch[name].shape) != shape:
            raise IGDError(f"{owner} batch: {name} must have shape {shape} to go with pos {tuple(pos.shape)}, "
                           f"got {tuple(batch[name].shape)}")
    for name in REQUIRED_KEYS:
        if not torch.isfinite(batch[name]).all():
            raise IGDError(f"{owner} batch: {name} holds NaN or inf values")
    out = {name: batch[name].float() for name in REQUIRED_KEYS}
    out[keys.GRID] = grid.float()
    if pos.dim() == 2:  # one grasp per item: a grasp axis of length 1
        for name in keys.GRASP_KEYS:
            out[name] = out[name].unsqueeze(1)
    return out
