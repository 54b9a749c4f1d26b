"""The numbers ``igd evaluate`` reports, as plain numpy functions (no planner, no simulator).

============================  ===================================================================
function                      what
============================  ===================================================================
:func:`roc_auc`               area under the ROC curve of scores against binary labels (ties: half)
:func:`accuracy`              share of ``(score >= threshold) == label``
:func:`rotation_error_deg`    angle between two grasp orientations, π-symmetric about the grasp z
:func:`quantiles`             a fixed set of quantiles of a distribution, for calibration tables
============================  ===================================================================

The grasp frame's z axis is the approach and y the closing direction (docs/frames.md); a parallel-jaw
grasp turned by π about its z axis is the same grasp, so its rotation error is the smaller of the
angles to the label and to the label turned by π.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
from scipy.stats import rankdata

from igd.errors import IGDError

__all__ = ["QUANTILES", "accuracy", "quantiles", "roc_auc", "rotation_error_deg"]

#: The quantiles of a quality distribution that calibration tables show.
QUANTILES = (0.5, 0.9, 0.99)


def _pair(scores, labels) -> tuple:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if scores.shape != labels.shape:
        raise IGDError(f"scores {scores.shape} and labels {labels.shape} must have the same length")
    if not np.isin(labels, (0, 1)).all():
        raise IGDError("labels must be 0 or 1")
    return scores, labels.astype(bool)


def roc_auc(scores, labels) -> Optional[float]:
    """Area under the ROC curve: P(score of a random positive > that of a random negative), ties count ½.

    The Mann–Whitney statistic over ranks (exact, O(N log N)). None when one class is missing.
    """
    scores, labels = _pair(scores, labels)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)  # average ranks: ties get half the credit
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def accuracy(scores, labels, threshold: float = 0.5) -> Optional[float]:
    """Share of points whose thresholded score equals the label (None for no points)."""
    scores, labels = _pair(scores, labels)
    if len(scores) == 0:
        return None
    return float(np.mean((scores >= threshold) == labels))


def _as_quats(q, name: str) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != 4:
        raise IGDError(f"{name} must be (N, 4) quaternions (x, y, z, w), got {q.shape}")
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    if not np.all(np.isfinite(q)) or np.any(norm < 1e-6):
        raise IGDError(f"{name}: quaternions must be finite and non-zero")
    return q / norm


def rotation_error_deg(predicted, labelled) -> np.ndarray:
    """``(N,)`` degrees between ``predicted (N, 4)`` and ``labelled (N, 4)`` quaternions (x, y, z, w),
    the smaller of the errors to ``labelled`` and to ``labelled · Rz(π)`` (the same parallel-jaw grasp)."""
    from scipy.spatial.transform import Rotation

    p, q = _as_quats(predicted, "predicted"), _as_quats(labelled, "labelled")
    if p.shape != q.shape:
        raise IGDError(f"predicted {p.shape} and labelled {q.shape} must have the same shape")
    if len(p) == 0:
        return np.zeros(0)
    rp, rq = Rotation.from_quat(p), Rotation.from_quat(q)
    flip = Rotation.from_euler("z", np.pi)
    direct = (rp.inv() * rq).magnitude()
    flipped = (rp.inv() * rq * flip).magnitude()
    return np.degrees(np.minimum(direct, flipped))


def quantiles(values, qs=QUANTILES) -> Dict[str, Optional[float]]:
    """``{"mean", "p50", "p90", "p99"}`` of ``values`` (None for an empty array)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    out: Dict[str, Optional[float]] = {"mean": float(values.mean()) if len(values) else None}
    for q in qs:
        out[f"p{round(100 * q)}"] = float(np.quantile(values, q)) if len(values) else None
    return out
