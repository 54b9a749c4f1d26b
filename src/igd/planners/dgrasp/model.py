"""dGrasp's value network Ψ(p | o) on our scene features, and the occupancy head that trains the encoder.

=================  ======  ==========================================================================
module             paper   what
=================  ======  ==========================================================================
``encoder``        o       the tri-plane encoder of the TSDF grid (the paper: a pre-trained NeRF)
``points``         —       M fixed points of the gripper box in the TCP frame (buffer, metres)
``point_mlp``      —       per point: c(H · x_i) ⊕ (H · x_i) → point_hidden, ELU, twice (shared)
``value_mlp``      Ψ       the M codes flattened → hidden → hidden → 1, ELU: the grasp value
``decoder_occ``    —       occupancy logit at a point (GIGA's LocalDecoder), trained jointly
=================  ======  ==========================================================================

``H`` is the TCP pose of ``p`` (:mod:`~igd.planners.dgrasp.poses`). The value network uses ELU
throughout (the paper: the auxiliary loss needs a continuous first derivative of Ψ in p); the
occupancy head is off Ψ's path and keeps GIGA's ReLU. Flattening (not pooling) the per-point codes
keeps which point of the gripper saw what.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from igd.constants import SIZE
from igd.errors import IGDError
from igd.nn import LocalDecoder, PlaneMapping, TriplaneEncoder, check_grid, normalise
from igd.planners.common.gripper_points import gripper_points
from igd.planners.dgrasp import poses

__all__ = ["DGraspNet"]


def _mlp(sizes, final_activation: bool) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ELU())
    return nn.Sequential(*layers)


class DGraspNet(nn.Module):
    """Grid → planes; (planes, poses p) → Ψ; (planes, points) → occupancy. ``loss(batch)`` for ``igd train``."""

    def __init__(self, features: int = 32, unet_depth: int = 3, unet_filters: int = 32,
                 plane_mapping: PlaneMapping = "ours", n_points: int = 30, points_seed: int = 0,
                 point_hidden: int = 32, hidden: int = 128, occ_hidden: int = 32, occ_blocks: int = 5,
                 rotation: str = "quat", loss_settings=None):
        super().__init__()
        self.rotation = rotation
        self.pose_dim = 3 + poses.rotation_dim(rotation)
        self.encoder = TriplaneEncoder(features, unet_depth, unet_filters, plane_mapping)
        dim = self.encoder.feature_dim
        self.register_buffer("points", torch.from_numpy(gripper_points(n_points, points_seed)))
        self.point_mlp = _mlp([dim + 3, point_hidden, point_hidden], final_activation=True)
        self.value_mlp = _mlp([n_points * point_hidden, hidden, hidden, 1], final_activation=False)
        self.decoder_occ = LocalDecoder(1, dim, occ_hidden, occ_blocks)
        self.loss_settings = loss_settings

    def encode(self, grid: torch.Tensor) -> torch.Tensor:
        """grid (B, [1,] 40, 40, 40) → planes (B, 3, C, 40, 40)."""
        return self.encoder(check_grid(grid))

    def value(self, planes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Ψ ``(B, N)`` of poses ``p (B, N, 3 + 4 | 6)`` (:mod:`~igd.planners.dgrasp.poses`) in the scenes of
        ``planes (B, 3, C, R, R)``; differentiable in ``p`` to any order."""
        if p.dim() != 3 or p.shape[0] != planes.shape[0] or p.shape[-1] != self.pose_dim:
            raise IGDError(f"DGraspNet: poses must have shape (B={planes.shape[0]}, N, {self.pose_dim}) "
                           f"({self.rotation} rotation), got {tuple(p.shape)}")
        b, n = p.shape[:2]
        rot = poses.rotation_matrix(p[..., 3:], self.rotation)  # (B, N, 3, 3)
        t = (p[..., :3] + 0.5) * SIZE  # metres
        world = torch.einsum("bnij,mj->bnmi", rot, self.points.to(p.dtype)) + t[:, :, None]  # (B, N, M, 3) m
        x = normalise(world)
        m = x.shape[2]
        feature = self.encoder.sample(planes, x.reshape(b, n * m, 3)).reshape(b, n, m, -1)
        code = self.point_mlp(torch.cat([feature.to(x.dtype), x], dim=-1))  # (B, N, M, h)
        return self.value_mlp(code.flatten(2)).squeeze(-1)

    def occupancy(self, planes: torch.Tensor, p_metres: torch.Tensor) -> torch.Tensor:
        """Occupancy logits ``(B, P)`` at ``p_metres (B, P, 3)``."""
        x = normalise(p_metres)
        return self.decoder_occ(x, self.encoder.sample(planes, x)).squeeze(-1)

    def loss(self, batch: Dict[str, torch.Tensor],
             generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, Dict[str, float]]:
        """The softmax cross-entropy, the auxiliary slope loss and the occupancy BCE (:mod:`~.loss`)."""
        from igd.planners.dgrasp.loss import LossSettings, dgrasp_loss

        return dgrasp_loss(self, batch, self.loss_settings or LossSettings(), generator)
