"""IGD's deformable attention module (DAM) and its grasp-conditioned variant (Song, Li, Detry, CoRL 2024).

Both refine the tri-plane feature ``c(p)`` of a query point with single-head attention over features
read at a few other points, and add the result back (residual):

    Q = W_Q c(p),  K_k = W_K c(s_k),  V_k = W_V c(s_k)          k = 1 … K sample points s_k
    out = W_O · Σ_k softmax_k(<Q, K_k> / sqrt(d)) V_k + c(p)    (dropout 0.1 on the softmax, training)

- :class:`DeformableAttention` (the DAM): ``s_k = p + Δp_k`` with ``Δp = W_Δ c(p)``, ``K = 8``; ``W_Δ``
  starts at zero and its bias at the 8 corners of a cube of one voxel side centred on ``p``
  (``±0.5 / 40`` per axis in normalised units), so before training the module attends to the voxel
  cube around the query and learns where else to look.
- :class:`GraspConditionedAttention` (the Grasp Classifier's): ``s_i = T_g u_i`` for ``L = 25``
  learnable control points ``u_i`` in the gripper frame, initialised on a 5 × 5 sheet in the plane
  ``x = 0`` between the fingers (``y ∈ [−0.04, 0.04]``, ``z ∈ [0, 0.05]`` m), moved by the grasp
  ``T_g = (R(q), p)``.

==============  ===========  ===========================================================
code            paper        meaning
==============  ===========  ===========================================================
p               p            query point, normalised coordinates ``p_m / 0.3 − 0.5``, (B, N, 3)
feature         c(p)         tri-plane feature at p, (B, N, d), d = 96
to_q/k/v/out    W_Q/K/V/O    d → d linear maps (Xavier-uniform, zero bias, as the reference)
to_offset       W_Δ          d → K·3, the sample-point offsets Δp_k (DAM only)
control_points  u_i          (L, 3) gripper-frame points, normalised units (m / 0.3)
quat            q            grasp orientation (x, y, z, w), (B, N, 4)
==============  ===========  ===========================================================

Deviation: the reference computes ``q / d^−0.5``, i.e. multiplies the logits by ``sqrt(d)`` instead of
dividing; we divide, as the paper states (see ``nn/README.md``). Both modules read the planes under the
encoder's ``plane_mapping`` (:mod:`igd.nn.triplane`), at ``p`` and at every sample point.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from igd.constants import RESOLUTION, SIZE
from igd.nn.triplane import PlaneMapping, check_plane_mapping, sample_planes

__all__ = ["DeformableAttention", "GraspConditionedAttention", "anchor_offsets", "gripper_sheet", "quat_to_matrix"]


def anchor_offsets(per_axis: int = 2, side: float = 1.0 / RESOLUTION) -> torch.Tensor:
    """``(per_axis³, 3)`` points of a regular lattice spanning a cube of ``side`` centred at 0 (normalised units).

    ``per_axis = 2``: the 8 corners ``(±side/2)³`` of a cube of one voxel side (the default ``side``),
    x-major order (``itertools.product``).
    """
    if per_axis < 2:
        raise ValueError(f"anchor_offsets: per_axis must be >= 2, got {per_axis}")
    line = torch.linspace(-side / 2, side / 2, per_axis)
    return torch.cartesian_prod(line, line, line)


def gripper_sheet(per_side: int = 5) -> torch.Tensor:
    """``(per_side², 3)`` control points on the sheet ``x = 0``, ``y ∈ [−0.04, 0.04]``, ``z ∈ [0, 0.05]`` m,
    divided by 0.3 (normalised units); y-major order, as the reference's meshgrid."""
    y = torch.linspace(-0.04, 0.04, per_side)
    z = torch.linspace(0.0, 0.05, per_side)
    yz = torch.cartesian_prod(y, z)
    return torch.cat([torch.zeros(len(yz), 1), yz], dim=1) / SIZE


def quat_to_matrix(quat: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` of quaternions ``(..., 4)`` (x, y, z, w), normalised first."""
    x, y, z, w = F.normalize(quat, dim=-1).unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).reshape(*quat.shape[:-1], 3, 3)


class _Attention(nn.Module):
    """Single-head attention of a query feature over K sampled features, with the residual."""

    def __init__(self, feature_dim: int, dropout: float, plane_mapping: PlaneMapping = "ours"):
        super().__init__()
        self.feature_dim = feature_dim
        self.plane_mapping = check_plane_mapping(plane_mapping)
        self.to_q = nn.Linear(feature_dim, feature_dim)
        self.to_k = nn.Linear(feature_dim, feature_dim)
        self.to_v = nn.Linear(feature_dim, feature_dim)
        self.to_out = nn.Linear(feature_dim, feature_dim)
        self.dropout = nn.Dropout(dropout)
        for layer in (self.to_q, self.to_k, self.to_v, self.to_out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def attend(self, feature: torch.Tensor, sampled: torch.Tensor) -> torch.Tensor:
        """``feature (B, N, d)`` = c(p), ``sampled (B, N, K, d)`` = c(s_k) → ``(B, N, d)``."""
        q = self.to_q(feature)  # Q
        k = self.to_k(sampled)  # K_k
        v = self.to_v(sampled)  # V_k
        logits = torch.einsum("bnd,bnkd->bnk", q, k) / math.sqrt(self.feature_dim)
        attn = self.dropout(torch.softmax(logits, dim=-1))
        return self.to_out(torch.einsum("bnk,bnkd->bnd", attn, v)) + feature

    def _sample(self, planes: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """c at ``points (B, N, K, 3)`` → ``(B, N, K, d)``."""
        b, n, k, _ = points.shape
        return sample_planes(planes, points.reshape(b, n * k, 3), self.plane_mapping).reshape(b, n, k, -1)


class DeformableAttention(_Attention):
    """The DAM: ``(planes (B, 3, C, R, R), p (B, N, 3)[, c(p)]) → (B, N, 3C)``; see the module docstring.

    Args:
        feature_dim: d, the channels of c(p) (3 · the plane channels).
        per_axis: sample points per axis of the anchor lattice (2: K = 8 cube corners).
        dropout: dropout on the attention weights (training only).
        side: side of the anchor cube in normalised units (one voxel: 1 / 40).
        plane_mapping: how the planes are read (that of the encoder that wrote them).
    """

    def __init__(self, feature_dim: int = 96, per_axis: int = 2, dropout: float = 0.1, side: float = 1.0 / RESOLUTION,
                 plane_mapping: PlaneMapping = "ours"):
        super().__init__(feature_dim, dropout, plane_mapping)
        anchors = anchor_offsets(per_axis, side)
        self.num_samples = len(anchors)
        self.to_offset = nn.Linear(feature_dim, 3 * self.num_samples)  # W_Δ
        with torch.no_grad():
            nn.init.zeros_(self.to_offset.weight)
            self.to_offset.bias.copy_(anchors.reshape(-1))

    def sample_points(self, p: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        """``s_k = p + Δp_k``: ``p (B, N, 3)``, ``feature (B, N, d)`` → ``(B, N, K, 3)``."""
        offsets = self.to_offset(feature).reshape(*p.shape[:2], self.num_samples, 3)
        return p.unsqueeze(2) + offsets

    def forward(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``feature``: c(p) when the caller has it already (saves one sampling of the planes)."""
        if feature is None:
            feature = sample_planes(planes, p, self.plane_mapping)
        sampled = self._sample(planes, self.sample_points(p, feature))
        return self.attend(feature, sampled)


class GraspConditionedAttention(_Attention):
    """Attention over the gripper: ``(planes, p (B, N, 3), quat (B, N, 4)[, c(p)]) → (B, N, d)``.

    Args:
        feature_dim: d, the channels of c(p).
        per_side: control points per side of the initial sheet (5: L = 25).
        dropout: dropout on the attention weights (training only).
        learnable: whether the control points ``u_i`` are trained (the paper) or fixed.
        plane_mapping: how the planes are read (that of the encoder that wrote them).
    """

    def __init__(self, feature_dim: int = 96, per_side: int = 5, dropout: float = 0.1, learnable: bool = True,
                 plane_mapping: PlaneMapping = "ours"):
        super().__init__(feature_dim, dropout, plane_mapping)
        sheet = gripper_sheet(per_side)
        if learnable:
            self.control_points = nn.Parameter(sheet)
        else:
            self.register_buffer("control_points", sheet)

    def sample_points(self, p: torch.Tensor, quat: torch.Tensor) -> torch.Tensor:
        """``s_i = T_g u_i = R(q) u_i + p``: ``p (B, N, 3)`` normalised, ``quat (B, N, 4)`` → ``(B, N, L, 3)``."""
        rot = quat_to_matrix(quat)  # (B, N, 3, 3), gripper → workspace
        return p.unsqueeze(2) + torch.einsum("bnij,lj->bnli", rot, self.control_points.to(p.dtype))

    def forward(self, planes: torch.Tensor, p: torch.Tensor, quat: torch.Tensor,
                feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        if feature is None:
            feature = sample_planes(planes, p, self.plane_mapping)
        sampled = self._sample(planes, self.sample_points(p, quat))
        return self.attend(feature, sampled)
