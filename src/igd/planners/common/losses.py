"""Loss terms several planners share: the orientation loss of a parallel-jaw grasp (VGN, GIGA).

    L_rot = min(1 − |<r̂, r>|, 1 − |<r̂, r · Rz(π)>|)     (q ~ −q, and the π turn about the grasp z)

==========  =====  ==============================================
code        paper  meaning
==========  =====  ==============================================
rot         r̂      predicted unit quaternion (x, y, z, w), (B, 4)
quat        r      labelled orientation (x, y, z, w), (B, 4)
==========  =====  ==============================================

VGN (Breyer et al., CoRL 2020, Sec. IV-C) and GIGA (Jiang et al., RSS 2021, Sec. IV) both use it.
"""

from __future__ import annotations

import torch

__all__ = ["quat_rot_z_pi", "rotation_loss"]


def quat_rot_z_pi(q: torch.Tensor) -> torch.Tensor:
    """``q · Rz(π)`` for quaternions ``(..., 4)`` (x, y, z, w): the same parallel-jaw grasp."""
    x, y, z, w = q.unbind(-1)
    return torch.stack([y, -x, w, -z], dim=-1)


def rotation_loss(rot: torch.Tensor, quat: torch.Tensor) -> torch.Tensor:
    """``L_rot (B,)`` between predicted ``rot (B, 4)`` and labelled ``quat (B, 4)``, both symmetries."""
    loss0 = 1.0 - torch.abs(torch.sum(rot * quat, dim=-1))
    loss1 = 1.0 - torch.abs(torch.sum(rot * quat_rot_z_pi(quat), dim=-1))
    return torch.minimum(loss0, loss1)
