"""VGN's training loss (Breyer et al., CoRL 2020, Sec. IV-C; the reference ``train_vgn.py``).

The network is supervised only at the voxel of each labelled grasp:

    L = BCE(q̂, y) + y · (L_rot + 0.01 · L_width)
    L_rot   = min(1 − |<r̂, r>|, 1 − |<r̂, r · Rz(π)>|)     (q ~ −q, and the π turn about the grasp z)
    L_width = (ŵ − w)²                                      (voxel units)

==========  =============  ==========================================================
code        paper          meaning
==========  =============  ==========================================================
qual        q̂              predicted quality at the grasp voxel, (B,)
label       y              1 = the grasp succeeded, (B,)
rot         r̂              predicted unit quaternion (x, y, z, w), (B, 4)
quat        r              labelled orientation, (B, 4)
width       ŵ, w           predicted / labelled width, voxel units, (B,)
==========  =============  ==========================================================

Batch keys (metres everywhere, as the data files; converted here):
``grid (B, 1, 40, 40, 40)``, ``pos (B, 3)`` grasp position in metres (rounded to the voxel index
``round(pos / 0.0075)``, as VGN was trained), ``quat (B, 4)``, ``width (B,)`` metres, ``label (B,)``.
Scene-batched (K grasps of each of S scenes): ``grid (S, 1, 40, 40, 40)``, ``pos (S, K, 3)``,
``quat (S, K, 4)``, ``width (S, K)``, ``label (S, K)``. VGN's output is dense, so the K grasps of a
scene are read from one forward pass of its grid; the loss per grasp is the same as one per item.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from igd.batch_keys import GRID, LABEL, POS, QUAT, WIDTH
from igd.constants import RESOLUTION, VOXEL_SIZE
from igd.errors import IGDError
from igd.nn import check_grid
from igd.planners.common.losses import rotation_loss

__all__ = ["WIDTH_WEIGHT", "vgn_loss"]

WIDTH_WEIGHT = 0.01


def _voxel_index(pos: torch.Tensor) -> torch.Tensor:
    """Rounded voxel index (B, 3) of positions (B, 3) in metres (no half voxel, as VGN was trained)."""
    return torch.round(pos / VOXEL_SIZE).long().clamp(0, RESOLUTION - 1)


def vgn_loss(net, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, Dict[str, float]]:
    """Mean VGN loss of ``net`` (a :class:`~igd.planners.vgn.model.VGNNet`) on ``batch`` → (loss, metrics)."""
    missing = [k for k in (GRID, POS, QUAT, WIDTH, LABEL) if k not in batch]
    if missing:
        raise IGDError(f"VGN batch lacks key(s) {missing}; expected {[GRID, POS, QUAT, WIDTH, LABEL]}")
    grid, pos = check_grid(batch[GRID]), batch[POS]  # IGDError on a grid of the wrong shape
    if pos.dim() not in (2, 3) or pos.shape[-1] != 3 or grid.shape[0] != pos.shape[0]:
        raise IGDError(f"VGN batch: pos must be (B, 3) or (S, K, 3) with grid (B or S, 1, 40, 40, 40), "
                       f"got pos {tuple(pos.shape)} and grid {tuple(grid.shape)}")
    for name in (QUAT, WIDTH, LABEL):
        if tuple(batch[name].shape[:pos.dim() - 1]) != tuple(pos.shape[:-1]):
            raise IGDError(f"VGN batch: {name} {tuple(batch[name].shape)} does not go with pos {tuple(pos.shape)}")
    qual_vol, rot_vol, width_vol = net(grid)
    i, j, k = _voxel_index(pos).unbind(-1)  # (B,) or (S, K)
    b = torch.arange(pos.shape[0], device=i.device)
    if pos.dim() == 3:  # scene index of every grasp, (S, K)
        b = b[:, None].expand_as(i)
    qual = qual_vol[b, i, j, k]
    rot = rot_vol.movedim(1, -1)[b, i, j, k]  # (B, 4) or (S, K, 4)
    width = width_vol[b, i, j, k]
    label = batch[LABEL].float()

    loss_qual = F.binary_cross_entropy(qual, label, reduction="none")
    loss_rot = rotation_loss(rot, batch[QUAT].float())
    loss_width = (width - batch[WIDTH].float() / VOXEL_SIZE) ** 2
    loss = (loss_qual + label * (loss_rot + WIDTH_WEIGHT * loss_width)).mean()

    n_pos = label.sum().clamp(min=1.0)
    metrics = {
        "loss": float(loss.detach()),
        "loss_qual": float(loss_qual.detach().mean()),
        "loss_rot": float((label * loss_rot).detach().sum() / n_pos),
        "loss_width": float((label * loss_width).detach().sum() / n_pos),
        "accuracy": float(((qual.detach() > 0.5).float() == label).float().mean()),
    }
    return loss, metrics
