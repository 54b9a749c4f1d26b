"""GIGA's training loss (Jiang et al., RSS 2021, Sec. IV; the reference ``train_giga.py``).

    L = mean over grasps [ BCE(q̂, y) + y · (L_rot + 0.01 · L_width) ] + mean over points [ BCE(ô, o) ]
    L_rot   = min(1 − |<r̂, r>|, 1 − |<r̂, r · Rz(π)>|)      (q ~ −q, and the π turn about the grasp z)
    L_width = (ŵ − w)²                                       (workspace units: metres / 0.3)

==========  ==========  ==============================================================
code        paper       meaning
==========  ==========  ==============================================================
qual_logit  q̂           predicted grasp quality (a logit; BCE is taken on the logit)
label       y           1 = some yaw succeeded at this grasp centre
rot         r̂           predicted unit quaternion (x, y, z, w)
quat        r           labelled orientation (x, y, z, w)
width       ŵ, w        predicted / labelled opening width, workspace units (metres / 0.3)
occ_logit   ô           predicted occupancy (a logit)
occ         o           1 = the point is inside an object
==========  ==========  ==============================================================

Two batch layouts (keys and units: :mod:`igd.batch_keys`; metres, converted here):

- **per grasp** (the reference's): ``grid (B, 1, 40, 40, 40)``, ``pos (B, 3)``, ``quat (B, 4)``,
  ``width (B,)``, ``label (B,)``, ``occ_points (B, P, 3)``, ``occ (B, P)``;
- **scene-batched**: ``grid (S, 1, 40, 40, 40)``, ``pos (S, K, 3)``, ``quat (S, K, 4)``, ``width (S, K)``,
  ``label (S, K)``, ``occ_points (S, P, 3)``, ``occ (S, P)``: each grid is encoded once for its K grasps.

A label-0 row trains the quality only (its rotation and width terms are weighted by ``y = 0``); so
do the certain negatives over the volume (``certain`` = 1 in the batch, :mod:`igd.data.negatives`),
which are label-0 rows with a random orientation: no other term sees them, and this loss needs no
``certain`` key. The means run over all K rows of an item, extra negatives included, so adding them
lowers the positives' share of the quality term.

Both give the same number on the same data: a per-grasp batch made of S scenes × K grasps
(:func:`igd.data.datasets.flatten_grasps`, occupancy repeated per grasp) averages the occupancy
term over S·K copies of S scenes, which is the scene-batched mean over S scenes. In the reference the
occupancy term is added per item and averaged with the grasp terms, which is the same mean.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from igd import batch_keys as keys
from igd.nn.width import WIDTH_SCALE
from igd.planners.common.batches import REQUIRED_KEYS, as_scene_batch
from igd.planners.common.losses import rotation_loss

__all__ = ["WIDTH_WEIGHT", "REQUIRED_KEYS", "giga_loss", "grasp_terms"]

WIDTH_WEIGHT = 0.01  # on (ŵ − w)² in workspace units, as the reference


def grasp_terms(out, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Per-grasp loss terms ``(S, K)`` of a :class:`~igd.planners.giga.model.GIGAOutput` against a scene batch."""
    label = batch[keys.LABEL]
    return {
        "qual": F.binary_cross_entropy_with_logits(out.qual_logit, label, reduction="none"),
        "rot": rotation_loss(out.rot, batch[keys.QUAT]),
        "width": (out.width - batch[keys.WIDTH] / WIDTH_SCALE) ** 2,
    }


def giga_loss(net, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, Dict[str, float]]:
    """Mean GIGA loss of ``net`` (a :class:`~igd.planners.giga.model.GIGANet`) on ``batch`` → (loss, metrics).

    Metrics (floats): ``loss``, ``loss_qual``, ``loss_rot`` and ``loss_width`` (means over positives),
    ``loss_occ``, ``accuracy``, ``precision``, ``recall`` (quality at 0.5), ``occ_accuracy``, ``positives``.
    """
    batch = as_scene_batch(batch, "GIGA")
    out = net(batch[keys.GRID], batch[keys.POS], batch[keys.OCC_POINTS])
    label = batch[keys.LABEL]
    terms = grasp_terms(out, batch)
    loss_grasp = (terms["qual"] + label * (terms["rot"] + WIDTH_WEIGHT * terms["width"])).mean()
    loss_occ = F.binary_cross_entropy_with_logits(out.occ_logit, batch[keys.OCC])
    loss = loss_grasp + loss_occ
    return loss, _metrics(loss, terms, loss_occ, out, batch)


def _metrics(loss, terms, loss_occ, out, batch) -> Dict[str, float]:
    with torch.no_grad():
        label = batch[keys.LABEL]
        predicted = (out.qual_logit > 0).float()  # q̂ > 0.5
        n_pos = label.sum()
        true_pos = (predicted * label).sum()
        return {
            "loss": float(loss.detach()),
            "loss_qual": float(terms["qual"].mean()),
            "loss_rot": float((label * terms["rot"]).sum() / n_pos.clamp(min=1.0)),
            "loss_width": float((label * terms["width"]).sum() / n_pos.clamp(min=1.0)),
            "loss_occ": float(loss_occ),
            "accuracy": float((predicted == label).float().mean()),
            "precision": float(true_pos / predicted.sum().clamp(min=1.0)),
            "recall": float(true_pos / n_pos.clamp(min=1.0)),
            "occ_accuracy": float(((out.occ_logit > 0).float() == batch[keys.OCC]).float().mean()),
            "positives": float(label.mean()),
        }
