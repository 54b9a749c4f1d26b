"""GIGA: Grasp detection via Implicit Geometry and Affordance (Jiang et al., RSS 2021): the network.

A tri-plane encoder reads the 40³ TSDF grid once; four implicit decoders read the feature ``c(p)`` of
any query point: three grasp heads at grasp centres and an occupancy head at geometry points. The
grasp heads share one sampling of the planes (the reference samples once per head). The encoder's
``plane_mapping`` decides where every head reads the planes (:mod:`igd.nn.triplane`).

==================  ===========  ==================================================================
module              paper        output at a point p (normalised, ``m / 0.3 − 0.5``)
==================  ===========  ==================================================================
``encoder``         —            planes (B, 3, 32, 40, 40): xz, xy, yz (:class:`TriplaneEncoder`)
``decoder_qual``    q            grasp quality logit; ``q = sigmoid(logit)`` ∈ [0, 1]
``decoder_rot``     r            quaternion (x, y, z, w), L2-normalised
``decoder_width``   w            opening width, **workspace units** (× 0.3 m), as GIGA's
``decoder_occ``     o            occupancy logit; ``o = sigmoid(logit)`` = P(p inside an object)
==================  ===========  ==================================================================

Each decoder is a :class:`~igd.nn.LocalDecoder` (hidden 32, 5 residual blocks) on ``(p, c(p))``.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from igd.errors import IGDError
from igd.nn import LocalDecoder, PlaneMapping, TriplaneEncoder, check_grid, normalise

__all__ = ["GIGANet", "GIGAOutput"]


class GIGAOutput(NamedTuple):
    """What :meth:`GIGANet.forward` returns (N grasp points, M occupancy points per scene)."""

    qual_logit: torch.Tensor
    """(B, N) quality logits."""
    rot: torch.Tensor
    """(B, N, 4) unit quaternions (x, y, z, w)."""
    width: torch.Tensor
    """(B, N) widths in workspace units (metres / 0.3, :mod:`igd.nn.width`)."""
    occ_logit: Optional[torch.Tensor] = None
    """(B, M) occupancy logits, or None when no occupancy points were given."""

    @property
    def qual(self) -> torch.Tensor:
        """(B, N) quality in [0, 1]."""
        return torch.sigmoid(self.qual_logit)

    @property
    def occ(self) -> Optional[torch.Tensor]:
        """(B, M) occupancy probability, or None."""
        return None if self.occ_logit is None else torch.sigmoid(self.occ_logit)


def _check_points(name: str, p: torch.Tensor, batch: int) -> None:
    if p.dim() != 3 or p.shape[0] != batch or p.shape[-1] != 3:
        raise IGDError(f"GIGANet: {name} must have shape (B={batch}, N, 3) in metres, got {tuple(p.shape)}")


class GIGANet(nn.Module):
    """GIGA's ``ConvolutionalOccupancyNetwork``: grid + query points → quality, rotation, width, occupancy."""

    def __init__(self, features: int = 32, hidden: int = 32, blocks: int = 5, unet_depth: int = 3,
                 unet_filters: int = 32, plane_mapping: PlaneMapping = "ours"):
        super().__init__()
        self.encoder = TriplaneEncoder(features, unet_depth, unet_filters, plane_mapping)
        dim = self.encoder.feature_dim
        self.decoder_qual = LocalDecoder(1, dim, hidden, blocks)
        self.decoder_rot = LocalDecoder(4, dim, hidden, blocks)
        self.decoder_width = LocalDecoder(1, dim, hidden, blocks)
        self.decoder_occ = LocalDecoder(1, dim, hidden, blocks)

    def encode(self, grid: torch.Tensor) -> torch.Tensor:
        """grid (B, 40, 40, 40) or (B, 1, 40, 40, 40) → planes (B, 3, C, 40, 40)."""
        return self.encoder(grid)

    def grasp_heads(self, planes: torch.Tensor, p: torch.Tensor,
                    feature: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """At grasp centres ``p (B, N, 3)`` (normalised): quality logits (B, N), unit quaternions (B, N, 4),
        widths (B, N) in workspace units (metres / 0.3). ``feature``: c(p) if already sampled."""
        if feature is None:
            feature = self.encoder.sample(planes, p)
        qual_logit = self.decoder_qual(p, feature).squeeze(-1)
        rot = F.normalize(self.decoder_rot(p, feature), dim=-1)
        width = self.decoder_width(p, feature).squeeze(-1)
        return qual_logit, rot, width

    def occupancy(self, planes: torch.Tensor, p: torch.Tensor, feature: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Occupancy logits (B, M) at ``p (B, M, 3)`` (normalised)."""
        if feature is None:
            feature = self.encoder.sample(planes, p)
        return self.decoder_occ(p, feature).squeeze(-1)

    def forward(self, grid: torch.Tensor, p_grasp: torch.Tensor, p_occ: Optional[torch.Tensor] = None) -> GIGAOutput:
        """grid (B, [1,] 40, 40, 40); ``p_grasp (B, N, 3)`` and ``p_occ (B, M, 3)`` in **metres** (workspace frame).

        The planes are sampled once for all N + M points; see :class:`GIGAOutput` for the shapes.
        """
        grid = check_grid(grid)
        _check_points("p_grasp", p_grasp, grid.shape[0])
        if p_occ is not None:
            _check_points("p_occ", p_occ, grid.shape[0])
        planes = self.encode(grid)
        n = p_grasp.shape[1]
        points = normalise(p_grasp if p_occ is None else torch.cat([p_grasp, p_occ], dim=1))
        feature = self.encoder.sample(planes, points)  # c(p) of every query point, (B, N + M, 3C)
        qual_logit, rot, width = self.grasp_heads(planes, points[:, :n], feature[:, :n])
        occ_logit = None if p_occ is None else self.occupancy(planes, points[:, n:], feature[:, n:])
        return GIGAOutput(qual_logit, rot, width, occ_logit)

    def loss(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, Dict[str, float]]:
        """GIGA's training loss on a per-grasp or scene-batched batch (:mod:`igd.planners.giga.loss`)."""
        from igd.planners.giga.loss import giga_loss

        return giga_loss(self, batch)
