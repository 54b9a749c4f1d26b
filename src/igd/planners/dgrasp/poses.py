"""The pose vector ``p`` that Ψ reads and the ascent moves, and its conversions (torch).

``p = (x ⊕ r)``: ``x`` the TCP position in **normalised** coordinates (``m / 0.3 − 0.5``, so one unit of
the position and of the rotation part are of similar size for Adam), ``r`` the rotation: a quaternion
``(x, y, z, w)`` (4) or the 6D representation, the first two columns of the rotation matrix (6).
Quaternion ``q`` and ``−q`` give the same pose (Ψ reads the rotation matrix).
"""

from __future__ import annotations

import torch

from igd.constants import SIZE
from igd.lie import quat_to_rotmat, rotmat_to_quat, rotmat_to_sixd, sixd_to_rotmat

__all__ = ["from_matrices", "rotation_dim", "rotation_matrix", "segments", "tidy", "to_matrices"]


def rotation_dim(rotation: str) -> int:
    return 4 if rotation == "quat" else 6


def rotation_matrix(r: torch.Tensor, rotation: str) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` of the rotation parts ``r (..., 4 | 6)`` (normalised / orthonormalised
    on the way, differentiably)."""
    return quat_to_rotmat(r) if rotation == "quat" else sixd_to_rotmat(r)


def rotation_params(rot: torch.Tensor, rotation: str) -> torch.Tensor:
    """The rotation part ``(..., 4 | 6)`` of rotation matrices ``rot (..., 3, 3)``."""
    return rotmat_to_quat(rot) if rotation == "quat" else rotmat_to_sixd(rot)


def from_matrices(rot: torch.Tensor, t_metres: torch.Tensor, rotation: str) -> torch.Tensor:
    """``p (..., 3 + 4 | 6)`` of rotations ``(..., 3, 3)`` and TCP positions ``(..., 3)`` in metres."""
    return torch.cat([t_metres / SIZE - 0.5, rotation_params(rot, rotation)], dim=-1)


def to_matrices(p: torch.Tensor, rotation: str) -> torch.Tensor:
    """Homogeneous TCP poses ``(..., 4, 4)``, metres, of pose vectors ``p (..., 3 + 4 | 6)``."""
    rot = rotation_matrix(p[..., 3:], rotation)
    h = torch.zeros(p.shape[:-1] + (4, 4), dtype=p.dtype, device=p.device)
    h[..., :3, :3] = rot
    h[..., :3, 3] = (p[..., :3] + 0.5) * SIZE
    h[..., 3, 3] = 1.0
    return h


def tidy(r: torch.Tensor, rotation: str) -> torch.Tensor:
    """The rotation part put back on its manifold after a step: the quaternion renormalised, the 6D vector
    re-orthonormalised (Gram–Schmidt: the two columns of the nearest rotation)."""
    if rotation == "quat":
        return r / r.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return rotmat_to_sixd(sixd_to_rotmat(r))


def segments(rotation: str) -> tuple:
    """The slices of ``p`` on which the auxiliary loss takes its cosines: the whole 7-vector for the
    quaternion; the position and each 6D column apart for the 6D representation (the paper's per column)."""
    if rotation == "quat":
        return (slice(0, 7),)
    return (slice(0, 3), slice(3, 6), slice(6, 9))
